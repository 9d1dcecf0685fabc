//! Rule `definer_functions`: the SECURITY DEFINER functions are exactly the model's, each
//! owned by crm_owner (a NOLOGIN role without BYPASSRLS), with its `search_path` pinned so
//! no caller can plant an object it resolves, and executable only by the role it serves.
//! A `pg_restore --no-owner` hands them to the restoring login: this rule names each one,
//! with the statement that repairs it.

use crate::audit::access::Access;
use crate::roles::{APP, OWNER, WORKER};

/// Every definer function of the model (as `regprocedure` prints it) and who may call it.
const MODEL: &[(&str, &str)] = &[
    ("claim_background_job(text,text)", WORKER),
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

/// The violations, keyed by `function <signature>`.
pub(crate) fn check(access: &Access) -> Vec<(String, String)> {
    let mut details = Vec::new();
    for (signature, caller) in MODEL {
        let key = format!("function {signature}");
        let Some(function) = access.definers.iter().find(|f| f.signature == *signature) else {
            details.push((
                key,
                "is missing or not SECURITY DEFINER; repair: run its CREATE FUNCTION from \
                 migrations/ again (crmdb migrate verify --drift shows the difference)"
                    .to_owned(),
            ));
            continue;
        };
        if function.owner != OWNER {
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
        for grantee in function.execute.iter().filter(|g| g != caller) {
            details.push((
                key.clone(),
                format!(
                    "may be executed by {grantee}; repair: REVOKE EXECUTE ON FUNCTION {signature} FROM {grantee}"
                ),
            ));
        }
        if !function.execute.iter().any(|g| g == caller) {
            details.push((
                key.clone(),
                format!(
                    "may not be executed by {caller}; repair: GRANT EXECUTE ON FUNCTION {signature} TO {caller}"
                ),
            ));
        }
    }
    for function in &access.definers {
        if !MODEL.iter().any(|(s, _)| *s == function.signature) {
            details.push((
                format!("function {}", function.signature),
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
    use crate::audit::access::DefinerRow;

    fn model() -> Vec<DefinerRow> {
        MODEL
            .iter()
            .map(|(signature, caller)| DefinerRow {
                signature: (*signature).into(),
                owner: OWNER.into(),
                config: vec![SEARCH_PATH.into()],
                execute: vec![(*caller).into()],
            })
            .collect()
    }

    #[test]
    fn the_model_is_clean() {
        let access = Access {
            definers: model(),
            ..Access::default()
        };
        assert_eq!(check(&access), []);
    }

    #[test]
    fn a_restored_owner_an_open_execute_and_a_stranger_are_reported() {
        let mut definers = model();
        definers[0].owner = "restorer".into();
        definers[0].execute.push("PUBLIC".into());
        definers[1].config.clear();
        definers.push(DefinerRow {
            signature: "backdoor()".into(),
            owner: OWNER.into(),
            config: vec![],
            execute: vec![],
        });
        let access = Access {
            definers,
            ..Access::default()
        };
        let found: Vec<String> = check(&access)
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
