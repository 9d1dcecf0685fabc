//! Typed rows of every table of the schema, one module per domain, and the Rust enums of
//! its closed sets (text columns with a `CHECK (col IN (…))`), mapped to their text values.

/// A closed set of the schema: an enum whose variants map one-to-one to the text values its
/// `CHECK` constraint allows, with PostgreSQL and `serde` mappings through that text.
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $name:ident { $($variant:ident = $text:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(#[doc = $text] $variant,)+
        }

        impl $name {
            /// Every value, in the order the schema's `CHECK` lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::models::UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::models::UnknownValue {
                        set: stringify!($name),
                        value: text.to_owned(),
                    }),
                }
            }
        }

        impl tokio_postgres::types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &tokio_postgres::types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.as_str().to_sql(ty, out)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <&str as tokio_postgres::types::ToSql>::accepts(ty)
            }

            tokio_postgres::types::to_sql_checked!();
        }

        impl<'a> tokio_postgres::types::FromSql<'a> for $name {
            fn from_sql(
                ty: &tokio_postgres::types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                let text = <&str as tokio_postgres::types::FromSql>::from_sql(ty, raw)?;
                Ok(text.parse::<$name>()?)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <&str as tokio_postgres::types::FromSql>::accepts(ty)
            }
        }

        impl $crate::sql::Param for $name {
            const TYPE: tokio_postgres::types::Type = tokio_postgres::types::Type::TEXT;
        }

        impl $crate::sql::Param for Vec<$name> {
            const TYPE: tokio_postgres::types::Type = tokio_postgres::types::Type::TEXT_ARRAY;
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod ai;
pub mod billing;
pub mod crm;
pub mod identity;
pub mod integrations;
pub mod messaging;
pub mod system;

pub use ai::*;
pub use billing::*;
pub use crm::*;
pub use identity::*;
pub use integrations::*;
pub use messaging::*;
pub use system::*;

/// A text value that is not one of a closed set's values (a newer schema, or bad input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a value of {set}")]
pub struct UnknownValue {
    pub set: &'static str,
    pub value: String,
}

/// Every closed set with the table and column it types, and its values, so a test can hold
/// them against the `CHECK` constraints of a live database.
pub fn closed_sets() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    fn values<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> Vec<&'static str> {
        all.iter().map(|v| text(*v)).collect()
    }
    macro_rules! sets {
        ($(($table:literal, $column:literal, $set:ident)),+ $(,)?) => {
            vec![$(($table, $column, values($set::ALL, $set::as_str))),+]
        };
    }
    sets![
        ("organization_members", "role", MemberRole),
        ("organization_invitations", "role", MemberRole),
        ("organization_members", "status", MemberStatus),
        ("auth_tokens", "purpose", AuthTokenPurpose),
        ("plans", "billing_interval", BillingInterval),
        ("subscriptions", "status", SubscriptionStatus),
        ("invoices", "status", InvoiceStatus),
        ("pipeline_stages", "stage_type", StageType),
        ("leads", "source", LeadSource),
        ("leads", "status", LeadStatus),
        ("communications", "channel", Channel),
        ("communications", "direction", Direction),
        ("communications", "status", CommunicationStatus),
        ("tasks", "priority", TaskPriority),
        ("tasks", "type", TaskType),
        ("custom_field_definitions", "field_type", FieldType),
        ("custom_field_definitions", "entity", CustomFieldEntity),
        ("message_templates", "category", TemplateCategory),
        ("message_templates", "channel", TemplateChannel),
        ("message_templates", "parameter_format", ParameterFormat),
        ("message_templates", "wa_category", WaCategory),
        ("message_templates", "wa_status", WaStatus),
        ("template_usage_stats", "success_metric", SuccessMetric),
        ("whatsapp_configs", "provider", WhatsappProvider),
        ("voip_configs", "provider", VoipProvider),
        ("ai_conversations", "channel", AiChannel),
        ("ai_training_data", "data_type", TrainingDataType),
        ("calendar_integrations", "provider", CalendarProvider),
        ("calendar_integrations", "sync_status", CalendarSyncStatus),
        ("calendar_events", "status", CalendarEventStatus),
        ("marketing_integrations", "platform", MarketingPlatform),
        ("webhook_delivery_logs", "status", DeliveryStatus),
        ("provider_routes", "provider", RouteProvider),
        ("background_jobs", "status", JobStatus),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_sets_round_trip_through_their_text() {
        for value in WaCategory::ALL {
            assert_eq!(value.as_str().parse::<WaCategory>().unwrap(), *value);
        }
        assert_eq!(LeadSource::FacebookAds.as_str(), "facebook_ads");
        assert_eq!(WaCategory::Marketing.as_str(), "MARKETING");
        let err = "bogus".parse::<LeadStatus>().unwrap_err();
        assert_eq!(err.to_string(), "\"bogus\" is not a value of LeadStatus");
        assert_eq!(
            serde_json::to_string(&MemberRole::Owner).unwrap(),
            "\"owner\""
        );
        let parsed: TaskPriority = serde_json::from_str("\"urgent\"").unwrap();
        assert_eq!(parsed, TaskPriority::Urgent);
    }
}
