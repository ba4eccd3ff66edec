//! The credentials of the broker's own gRPC endpoint (docs/grpc.md, "ACL"). In local mode the
//! endpoint runs in the broker's process but reaches the broker over its remoting port, as any
//! client. It has checked each gRPC call already, with the broker's own rules; its remoting
//! requests are signed with a secret made at start that never leaves the process, and pass the
//! broker's checks (Apache's local-mode proxy calls the broker's processors directly, past its
//! RPC hooks, to the same effect).

use ferromq_protocol::acl::{self as signing, SigningKey, ACCESS_KEY, SIGNATURE};
use ferromq_protocol::RemotingCommand;

/// The access key the endpoint signs with (only the secret, random per start, matters: a user
/// of the same name keeps working with its own password).
pub(crate) const ACCESS_KEY_NAME: &str = "ferromq-grpc-endpoint";

/// The endpoint's secret.
pub(crate) struct InProcess {
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    secret: String,
    key: SigningKey,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcess(<redacted>)")
    }
}

impl Default for InProcess {
    fn default() -> Self {
        let secret = random_secret();
        InProcess {
            key: SigningKey::new(&secret),
            secret,
        }
    }
}

/// 256 bits from the operating system's random source, as hex.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    // Without a working random source the process cannot make any secret; nothing sensible
    // is left to do than to stop (the broker is starting: this runs once).
    getrandom::getrandom(&mut bytes).expect("the operating system's random source");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl InProcess {
    #[cfg_attr(not(feature = "grpc"), allow(dead_code))]
    /// The secret, for the endpoint to sign with.
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether `req` was signed by the endpoint.
    pub(crate) fn signed(&self, req: &RemotingCommand) -> bool {
        if req.ext_fields.get(ACCESS_KEY) != Some(ACCESS_KEY_NAME) {
            return false;
        }
        let expected = self.key.sign(req);
        req.ext_fields
            .get(SIGNATURE)
            .is_some_and(|given| signing::constant_time_eq(expected.as_bytes(), given.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferromq_protocol::RequestCode;

    #[test]
    fn only_the_secret_signs() {
        let a = InProcess::default();
        let b = InProcess::default();
        assert_ne!(a.secret(), b.secret());
        assert_eq!(a.secret().len(), 64);
        let mut req = RemotingCommand::request(RequestCode::SEND_MESSAGE_V2);
        req.ext_fields.insert("b", "T");
        req.ext_fields.insert(ACCESS_KEY, ACCESS_KEY_NAME);
        let s = signing::signature(a.secret(), &req);
        req.ext_fields.insert(SIGNATURE, s);
        assert!(a.signed(&req));
        assert!(!b.signed(&req));
        req.ext_fields.insert("b", "Other");
        assert!(!a.signed(&req));
    }
}
