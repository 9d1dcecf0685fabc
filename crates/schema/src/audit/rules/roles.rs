//! Rule `roles`: the roles of the privilege model exist, none can log in, none is a
//! SUPERUSER or bypasses row-level security, crm_worker holds crm_app's rights, and every
//! login handed out (a member of crm_app, crm_worker or crm_readonly that is no admin) is
//! NOINHERIT, so it reads nothing until a transaction enters its role.

use crate::audit::access::Access;
use crate::roles::{APP, OWNER, READONLY, RESTORE_ROLES, ROLES, WORKER};

/// The violations, keyed by `role <name>`.
pub(crate) fn check(access: &Access) -> Vec<(String, String)> {
    let mut details = Vec::new();
    for name in ROLES {
        let key = format!("role {name}");
        let Some(role) = access.roles.iter().find(|r| r.name == name) else {
            details.push((
                key,
                format!(
                    "is missing, and with it every grant to it and every object it owns (the \
                     privilege rules do not list them one by one); repair: {RESTORE_ROLES}; on \
                     a database that never had it, crmdb migrate apply creates it"
                ),
            ));
            continue;
        };
        if role.superuser {
            details.push((
                key.clone(),
                format!("is a superuser; repair: ALTER ROLE {name} NOSUPERUSER"),
            ));
        }
        if role.bypassrls {
            details.push((
                key.clone(),
                format!("bypasses row-level security; repair: ALTER ROLE {name} NOBYPASSRLS"),
            ));
        }
        if role.can_login {
            details.push((
                key.clone(),
                format!("can log in; repair: ALTER ROLE {name} NOLOGIN"),
            ));
        }
        if name == WORKER && !role.member_of.iter().any(|m| m == APP) {
            details.push((
                key,
                format!("does not hold {APP}'s rights; repair: GRANT {APP} TO {WORKER}"),
            ));
        }
    }
    for member in &access.members {
        let handed_out = [APP, WORKER, READONLY].contains(&member.role.as_str());
        if handed_out && !member.admin && member.inherit {
            details.push((
                format!("role {}", member.login),
                format!(
                    "logs in as a member of {} with INHERIT, so it has the role's rights without \
                     entering it; repair: ALTER ROLE {} NOINHERIT",
                    member.role, member.login
                ),
            ));
        }
        if member.role == OWNER && !member.admin {
            details.push((
                format!("role {}", member.login),
                format!(
                    "logs in as a member of {OWNER}, the owner of the definer functions; \
                     repair: REVOKE {OWNER} FROM {}",
                    member.login
                ),
            ));
        }
    }
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::access::MemberRow;
    use crate::audit::rules::fixture::{access, role};

    #[test]
    fn the_model_s_roles_are_clean() {
        assert_eq!(check(&access()), []);
    }

    #[test]
    fn a_missing_role_a_bypassing_owner_and_an_inheriting_login_are_reported() {
        let mut owner = role(OWNER);
        owner.bypassrls = true;
        let access = Access {
            roles: vec![owner, role(APP), role(WORKER)],
            members: vec![MemberRow {
                login: "web".into(),
                role: APP.into(),
                inherit: true,
                admin: false,
            }],
            ..Access::default()
        };
        let found: Vec<String> = check(&access)
            .into_iter()
            .map(|(k, d)| format!("{k}: {d}"))
            .collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("role crm_owner: bypasses row-level security"));
        assert!(found[1].starts_with("role crm_readonly: is missing"));
        assert!(found[2].starts_with("role web: logs in as a member of crm_app with INHERIT"));
    }
}
