//! Rule `definer_functions`: the SECURITY DEFINER functions are exactly the model's, each
//! owned by crm_owner (a NOLOGIN role without BYPASSRLS), with its `search_path` pinned so
//! no caller can plant an object it resolves, and executable only by the role it serves.
//! A `pg_restore --no-owner` hands them to the restoring login: this rule names each one,
//! with the statement that repairs it.

use crate::audit::access::Access;
use crate::catalog::{Function, Schema};
use crate::roles::{APP, OWNER, WORKER};

/// Every definer function of the model (as `regprocedure` prints it) and who may call it.
const MODEL: &[(&str, &str)] = &[
    ("claim_background_job(text,text)", WORKER),
    ("claim_webhook_delivery(interval)", WORKER),
    ("consume_auth_token(text,bytea)", APP),
    ("invitation_by_token(bytea)", APP),
    (
        "issue_password_reset(text,bytea,timestamp with time zone)",
        APP,
    ),
    ("login_parameters(text)", APP),
    ("login_verify(text,text)", APP),
    ("reset_password(bytea,text)", APP),
    ("route_inbound(text,text)", APP),
    ("search_leads(uuid,text,integer)", APP),
    ("session_by_token(bytea)", APP),
    ("two_factor_secret()", APP),
];

/// The setting every definer function pins: the catalogs first, `pg_temp` last.
const SEARCH_PATH: &str = "search_path=pg_catalog, public, pg_temp";

/// The violations, keyed by `function <signature>`. What involves a missing role is the
/// `roles` rule's finding.
pub(crate) fn check(schema: &Schema, access: &Access) -> Vec<(String, String)> {
    let definers: Vec<(&String, &Function)> = schema
        .functions
        .iter()
        .filter(|(_, f)| f.security_definer)
        .collect();
    let mut details = Vec::new();
    for (signature, caller) in MODEL {
        let key = format!("function {signature}");
        let Some((_, function)) = definers.iter().find(|(s, _)| s == signature) else {
            details.push((
                key,
                "is missing or not SECURITY DEFINER; repair: run its CREATE FUNCTION from \
                 migrations/ again (crmdb migrate verify --drift shows the difference)"
                    .to_owned(),
            ));
            continue;
        };
        if function.owner != OWNER && access.has_role(OWNER) {
            details.push((
                key.clone(),
                format!(
                    "is owned by {} instead of {OWNER}; repair: ALTER FUNCTION {signature} OWNER TO {OWNER}",
                    function.owner
                ),
            ));
        }
        if !function.config.iter().any(|c| c == SEARCH_PATH) {
            details.push((
                key.clone(),
                format!(
                    "does not pin its search_path; repair: ALTER FUNCTION {signature} SET \
                     search_path = pg_catalog, public, pg_temp"
                ),
            ));
        }
        for grantee in function.executable_by.iter().filter(|g| g != caller) {
            details.push((
                key.clone(),
                format!(
                    "may be executed by {grantee}; repair: REVOKE EXECUTE ON FUNCTION {signature} FROM {grantee}"
                ),
            ));
        }
        if !function.executable_by.iter().any(|g| g == caller) && access.has_role(caller) {
            details.push((
                key.clone(),
                format!(
                    "may not be executed by {caller}; repair: GRANT EXECUTE ON FUNCTION {signature} TO {caller}"
                ),
            ));
        }
    }
    for (signature, _) in definers {
        if !MODEL.iter().any(|(s, _)| s == signature) {
            details.push((
                format!("function {signature}"),
                "is a SECURITY DEFINER function the privilege model does not know; repair: \
                 DROP it, or add it to the model"
                    .to_owned(),
            ));
        }
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::rules::fixture::access;

    fn definer(caller: &str) -> Function {
        Function {
            definition: String::new(),
            comment: None,
            owner: OWNER.into(),
            security_definer: true,
            config: vec![SEARCH_PATH.into()],
            grants: vec![],
            executable_by: vec![caller.into()],
        }
    }

    fn model() -> Schema {
        Schema {
            functions: MODEL
                .iter()
                .map(|(signature, caller)| ((*signature).into(), definer(caller)))
                .collect(),
            ..Schema::default()
        }
    }

    #[test]
    fn the_model_is_clean() {
        assert_eq!(check(&model(), &access()), []);
    }

    #[test]
    fn a_restored_owner_an_open_execute_and_a_stranger_are_reported() {
        let mut schema = model();
        let claim = schema
            .functions
            .get_mut("claim_background_job(text,text)")
            .unwrap();
        claim.owner = "restorer".into();
        claim.executable_by.insert(0, "PUBLIC".into());
        schema
            .functions
            .get_mut("consume_auth_token(text,bytea)")
            .unwrap()
            .config
            .clear();
        schema.functions.insert("backdoor()".into(), definer(APP));
        schema.functions.insert(
            "not_a_definer()".into(),
            Function {
                security_definer: false,
                ..definer("PUBLIC")
            },
        );
        let found: Vec<String> = check(&schema, &access())
            .into_iter()
            .map(|(k, d)| format!("{k}: {d}"))
            .collect();
        assert_eq!(
            found,
            [
                "function claim_background_job(text,text): is owned by restorer instead of crm_owner; repair: ALTER FUNCTION claim_background_job(text,text) OWNER TO crm_owner",
                "function claim_background_job(text,text): may be executed by PUBLIC; repair: REVOKE EXECUTE ON FUNCTION claim_background_job(text,text) FROM PUBLIC",
                "function consume_auth_token(text,bytea): does not pin its search_path; repair: ALTER FUNCTION consume_auth_token(text,bytea) SET search_path = pg_catalog, public, pg_temp",
                "function backdoor(): is a SECURITY DEFINER function the privilege model does not know; repair: DROP it, or add it to the model",
            ]
        );
    }
}
