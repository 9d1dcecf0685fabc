//! Communications: idempotent inbound, outbound, status, and the timeline pages.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use crmdb_store::models::{Channel, CommunicationStatus, Direction};
use crmdb_store::ops::communications::{InboundMessage, OutboundMessage};
use crmdb_store::ops::leads::NewLead;

use super::{assert_invalid, assert_not_found, fixture};

#[tokio::test]
async fn an_inbound_message_delivered_twice_is_stored_once() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let at = Utc::now() - Duration::minutes(5);
    let message = InboundMessage {
        lead_id: lead.id,
        channel: Channel::Whatsapp,
        external_id: "wamid.HBgM123".into(),
        content: Some("Olá!".into()),
        occurred_at: at,
        metadata: Some(serde_json::json!({"from": "+5511999990000"})),
    };
    let (first, created) = tenant
        .communications()
        .record_inbound(&message)
        .await
        .unwrap();
    assert!(created);
    assert_eq!(first.direction, Direction::Inbound);
    assert_eq!(first.status, CommunicationStatus::Received);
    let (again, created) = tenant
        .communications()
        .record_inbound(&message)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, first.id);
    // The same provider id on another channel is another message.
    let sms = InboundMessage {
        channel: Channel::Sms,
        ..message.clone()
    };
    assert!(
        tenant
            .communications()
            .record_inbound(&sms)
            .await
            .unwrap()
            .1
    );
    // …and in another organization too.
    let lead_b = f
        .tenant_b()
        .leads()
        .create(&NewLead::named("Bia"))
        .await
        .unwrap();
    let in_b = InboundMessage {
        lead_id: lead_b.id,
        ..message.clone()
    };
    assert!(
        f.tenant_b()
            .communications()
            .record_inbound(&in_b)
            .await
            .unwrap()
            .1
    );

    let touched = tenant.leads().get(lead.id).await.unwrap();
    assert_eq!(
        touched.last_contacted_at.map(|t| t.timestamp_micros()),
        Some(at.timestamp_micros())
    );
    let to_b_lead = InboundMessage {
        lead_id: lead_b.id,
        external_id: "other".into(),
        ..message.clone()
    };
    assert_not_found(
        tenant.communications().record_inbound(&to_b_lead).await,
        "lead",
    );
    let blank = InboundMessage {
        external_id: " ".into(),
        ..message
    };
    assert_invalid(
        tenant.communications().record_inbound(&blank).await,
        "external_id",
    );
}

#[tokio::test]
async fn outbound_messages_are_recorded_updated_and_deleted() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let comms = tenant.communications();
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let sent = comms
        .record_outbound(&OutboundMessage {
            user_id: Some(f.a.agent),
            ..OutboundMessage::text(lead.id, Channel::Email, "Proposta em anexo")
        })
        .await
        .unwrap();
    assert_eq!(sent.status, CommunicationStatus::Queued);
    assert_eq!(sent.direction, Direction::Outbound);
    let delivered = comms
        .set_status(sent.id, CommunicationStatus::Delivered, Some("msg-1"))
        .await
        .unwrap();
    assert_eq!(delivered.status, CommunicationStatus::Delivered);
    assert_eq!(delivered.external_id.as_deref(), Some("msg-1"));
    assert_eq!(comms.get(sent.id).await.unwrap(), delivered);

    let call = comms
        .record_outbound(&OutboundMessage {
            duration_seconds: Some(125),
            recording_url: Some("https://recordings.example/1".into()),
            content: None,
            status: Some(CommunicationStatus::Sent),
            ..OutboundMessage::text(lead.id, Channel::Phone, "")
        })
        .await
        .unwrap();
    assert_eq!(call.duration_seconds, Some(125));
    let bad_url = OutboundMessage {
        recording_url: Some("http://insecure".into()),
        ..OutboundMessage::text(lead.id, Channel::Phone, "")
    };
    assert_invalid(comms.record_outbound(&bad_url).await, "recording_url");
    let not_member = OutboundMessage {
        user_id: Some(f.b.agent),
        ..OutboundMessage::text(lead.id, Channel::Email, "x")
    };
    assert_not_found(comms.record_outbound(&not_member).await, "member");
    let foreign_template = OutboundMessage {
        template_id: Some(uuid::Uuid::now_v7()),
        ..OutboundMessage::text(lead.id, Channel::Email, "x")
    };
    assert_not_found(comms.record_outbound(&foreign_template).await, "template");

    comms.delete(call.id).await.unwrap();
    assert_not_found(comms.get(call.id).await, "communication");
    assert_not_found(comms.delete(call.id).await, "communication");
    assert_not_found(
        comms
            .set_status(call.id, CommunicationStatus::Read, None)
            .await,
        "communication",
    );
}

#[tokio::test]
async fn the_timeline_pages_newest_first_without_gaps_or_repeats() {
    let f = fixture().await;
    let tenant = f.tenant_a();
    let lead = tenant.leads().create(&NewLead::named("Ana")).await.unwrap();
    let other = tenant.leads().create(&NewLead::named("Bia")).await.unwrap();
    let base = Utc::now() - Duration::hours(1);
    for i in 0..7 {
        // Two messages share each timestamp, so the id must break ties.
        let at = base + Duration::minutes(i / 2);
        tenant
            .communications()
            .record_outbound(&OutboundMessage {
                occurred_at: Some(at),
                ..OutboundMessage::text(lead.id, Channel::Whatsapp, format!("m{i}"))
            })
            .await
            .unwrap();
    }
    tenant
        .communications()
        .record_outbound(&OutboundMessage::text(
            other.id,
            Channel::Whatsapp,
            "not hers",
        ))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = tenant
            .communications()
            .timeline(lead.id, cursor, 2)
            .await
            .unwrap();
        seen.extend(page.communications.iter().map(|c| (c.occurred_at, c.id)));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(
        seen.iter().map(|(_, id)| *id).collect::<HashSet<_>>().len(),
        7
    );
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, then id descending");
    assert_invalid(
        tenant.communications().timeline(lead.id, None, 0).await,
        "limit",
    );
}
