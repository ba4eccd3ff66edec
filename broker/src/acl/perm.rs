//! Permissions of ACL 1.0 (Java `Permission`): DENY, ANY, PUB and SUB bits, and the request codes
//! only an admin account may send.

use std::ops::BitOr;

use ferromq_protocol::RequestCode;

/// A permission, Apache's bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Perm(u8);

impl Perm {
    /// Nothing, whatever else is set.
    pub(crate) const DENY: Perm = Perm(1);
    /// Needed: PUB or SUB will do.
    pub(crate) const ANY: Perm = Perm(1 << 1);
    /// Send.
    pub(crate) const PUB: Perm = Perm(1 << 2);
    /// Consume.
    pub(crate) const SUB: Perm = Perm(1 << 3);

    /// `DENY`, `PUB`, `SUB`, `PUB|SUB` or `SUB|PUB` (surrounding blanks ignored).
    pub(crate) fn parse(s: &str) -> Option<Perm> {
        match s.trim() {
            "DENY" => Some(Perm::DENY),
            "PUB" => Some(Perm::PUB),
            "SUB" => Some(Perm::SUB),
            "PUB|SUB" | "SUB|PUB" => Some(Perm::PUB | Perm::SUB),
            _ => None,
        }
    }

    /// Whether `owned` grants `self` (Java `Permission.checkPermission(needed, owned)`).
    pub(crate) fn granted_by(self, owned: Perm) -> bool {
        if owned.0 & Perm::DENY.0 != 0 {
            return false;
        }
        if self.0 & Perm::ANY.0 != 0 {
            return owned.0 & (Perm::PUB.0 | Perm::SUB.0) != 0;
        }
        self.0 & owned.0 != 0
    }
}

impl BitOr for Perm {
    type Output = Perm;
    fn bitor(self, rhs: Perm) -> Perm {
        Perm(self.0 | rhs.0)
    }
}

/// Codes only admin accounts may send (Java `Permission.ADMIN_CODE`, plus the two ACL codes
/// Apache leaves to any account: UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, which would let any account
/// admit every address, and GET_BROKER_CLUSTER_ACL_CONFIG, which lists every secret).
pub(crate) fn needs_admin(code: RequestCode) -> bool {
    matches!(
        code,
        RequestCode::UPDATE_AND_CREATE_TOPIC
            | RequestCode::UPDATE_BROKER_CONFIG
            | RequestCode::DELETE_TOPIC_IN_BROKER
            | RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
            | RequestCode::DELETE_SUBSCRIPTIONGROUP
            | RequestCode::UPDATE_AND_CREATE_STATIC_TOPIC
            | RequestCode::UPDATE_AND_CREATE_ACL_CONFIG
            | RequestCode::DELETE_ACL_CONFIG
            | RequestCode::GET_BROKER_CLUSTER_ACL_INFO
            | RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
            | RequestCode::GET_BROKER_CLUSTER_ACL_CONFIG
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_permission_as_apache() {
        let (deny, any, publ, sub) = (Perm::DENY, Perm::ANY, Perm::PUB, Perm::SUB);
        assert!(publ.granted_by(publ) && publ.granted_by(publ | sub));
        assert!(!publ.granted_by(sub) && !sub.granted_by(publ));
        assert!(!publ.granted_by(deny) && !publ.granted_by(deny | publ));
        assert!(any.granted_by(sub) && any.granted_by(publ) && !any.granted_by(deny));
        assert_eq!(Perm::parse(" SUB|PUB "), Some(publ | sub));
        assert_eq!(Perm::parse("PUBSUB"), None);
    }
}
