//! Who RBAC grants to: users, groups and service accounts, and the identity a request carries.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::RbacError;

/// The three kinds of RBAC subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SubjectKind {
    /// A user name, as authenticators report it.
    User,
    /// A group name.
    Group,
    /// A service account (`system:serviceaccount:NS:NAME` as a user).
    ServiceAccount,
}

impl SubjectKind {
    /// The `kind` as bindings write it.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "User",
            SubjectKind::Group => "Group",
            SubjectKind::ServiceAccount => "ServiceAccount",
        }
    }
}

/// One subject: `User:alice`, `Group:devs`, `ServiceAccount:ns/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Subject {
    /// User, Group or ServiceAccount.
    pub kind: SubjectKind,
    /// The name.
    pub name: String,
    /// The namespace of a service account (empty for users and groups).
    #[serde(default)]
    pub namespace: String,
}

/// The group every authenticated request carries.
pub const AUTHENTICATED_GROUP: &str = "system:authenticated";
/// The group of anonymous requests.
pub const UNAUTHENTICATED_GROUP: &str = "system:unauthenticated";
/// The user name of anonymous requests.
pub const ANONYMOUS_USER: &str = "system:anonymous";
/// The group the API server authorizes for everything, RBAC or not.
pub const MASTERS_GROUP: &str = "system:masters";

impl Subject {
    /// A user.
    pub fn user(name: impl Into<String>) -> Subject {
        Subject { kind: SubjectKind::User, name: name.into(), namespace: String::new() }
    }

    /// A group.
    pub fn group(name: impl Into<String>) -> Subject {
        Subject { kind: SubjectKind::Group, name: name.into(), namespace: String::new() }
    }

    /// A service account.
    pub fn service_account(namespace: impl Into<String>, name: impl Into<String>) -> Subject {
        Subject { kind: SubjectKind::ServiceAccount, name: name.into(), namespace: namespace.into() }
    }

    /// Parses `User:alice`, `Group:devs` or `ServiceAccount:ns/name` (kinds case-insensitive;
    /// `sa:` is accepted for service accounts, and a service-account user name
    /// `system:serviceaccount:ns:name` as well).
    pub fn parse(text: &str) -> Result<Subject, RbacError> {
        let bad = || RbacError::Subject(text.to_string());
        if let Some(rest) = text.strip_prefix("system:serviceaccount:") {
            let (ns, name) = rest.split_once(':').ok_or_else(bad)?;
            return Ok(Subject::service_account(ns, name));
        }
        let (kind, name) = text.split_once(':').ok_or_else(bad)?;
        if name.is_empty() {
            return Err(bad());
        }
        match kind.to_ascii_lowercase().as_str() {
            "user" => Ok(Subject::user(name)),
            "group" => Ok(Subject::group(name)),
            "serviceaccount" | "sa" => {
                let (ns, sa) = name.split_once('/').ok_or_else(bad)?;
                if ns.is_empty() || sa.is_empty() {
                    return Err(bad());
                }
                Ok(Subject::service_account(ns, sa))
            }
            _ => Err(bad()),
        }
    }

    /// The identity a request from this subject carries: its user name and the groups the
    /// authenticators add (`None` for a group, which is not a requester by itself).
    pub fn user_info(&self) -> Option<UserInfo> {
        match self.kind {
            SubjectKind::Group => None,
            SubjectKind::User if self.name == ANONYMOUS_USER => {
                Some(UserInfo { name: self.name.clone(), groups: vec![UNAUTHENTICATED_GROUP.to_string()] })
            }
            SubjectKind::User => {
                Some(UserInfo { name: self.name.clone(), groups: vec![AUTHENTICATED_GROUP.to_string()] })
            }
            SubjectKind::ServiceAccount => Some(UserInfo::service_account(&self.namespace, &self.name)),
        }
    }

    /// The groups whose permissions this subject holds besides its own (none for a group).
    pub fn implied_groups(&self) -> Vec<String> {
        self.user_info().map(|u| u.groups).unwrap_or_default()
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SubjectKind::ServiceAccount => write!(f, "ServiceAccount:{}/{}", self.namespace, self.name),
            kind => write!(f, "{}:{}", kind.as_str(), self.name),
        }
    }
}

/// The user of a request, as the authorizer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// User name (`system:serviceaccount:NS:NAME` for service accounts).
    pub name: String,
    /// Groups.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// A service account's identity, with the groups the token authenticator adds.
    pub fn service_account(namespace: &str, name: &str) -> UserInfo {
        UserInfo {
            name: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{namespace}"),
                AUTHENTICATED_GROUP.to_string(),
            ],
        }
    }

    /// Whether a binding subject (`kind`, `name`, `namespace`) names this user, in a binding
    /// of namespace `binding_namespace` (empty for a ClusterRoleBinding). A service-account
    /// subject without a namespace takes the binding's, as the API server does.
    pub fn matches(&self, subject: &Subject, binding_namespace: &str) -> bool {
        match subject.kind {
            SubjectKind::User => self.name == subject.name,
            SubjectKind::Group => self.groups.contains(&subject.name),
            SubjectKind::ServiceAccount => {
                let namespace =
                    if subject.namespace.is_empty() { binding_namespace } else { &subject.namespace };
                !namespace.is_empty()
                    && self
                        .name
                        .strip_prefix("system:serviceaccount:")
                        .and_then(|rest| rest.split_once(':'))
                        .is_some_and(|(ns, name)| ns == namespace && name == subject.name)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for text in ["User:alice", "Group:system:masters", "ServiceAccount:ns1/sa1"] {
            assert_eq!(Subject::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Subject::parse("system:serviceaccount:ns1:sa1").unwrap(),
            Subject::service_account("ns1", "sa1")
        );
        assert_eq!(Subject::parse("sa:a/b").unwrap(), Subject::service_account("a", "b"));
        for bad in ["alice", "Robot:x", "ServiceAccount:nons", "User:", "ServiceAccount:/x"] {
            assert!(Subject::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_account_subjects_default_to_the_binding_namespace() {
        let user = UserInfo::service_account("ns1", "sa1");
        let bare =
            Subject { kind: SubjectKind::ServiceAccount, name: "sa1".into(), namespace: String::new() };
        assert!(user.matches(&bare, "ns1"));
        assert!(!user.matches(&bare, "ns2"));
        assert!(!user.matches(&bare, ""), "a ClusterRoleBinding needs the namespace written");
        assert!(user.matches(&Subject::group("system:serviceaccounts:ns1"), ""));
        assert!(!user.matches(&Subject::user("sa1"), ""));
    }
}
