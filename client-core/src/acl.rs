//! ACL 1.0 request signing (docs/protocol.md, "ACL signing", Java `AclClientRPCHook`): every
//! request carries `AccessKey` (and `SecurityToken`) and a `Signature`, the Base64 HMAC-SHA1 under
//! the secret key of the values of all ext fields in key order followed by the body. The
//! signature itself is [`ferromq_protocol::acl::signature`], which the broker checks with.

use ferromq_protocol::acl::{self, SigningKey};
use ferromq_protocol::RemotingCommand;

/// AccessKey / SecretKey credentials of ACL 1.0.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key (sent in clear).
    pub access_key: String,
    /// The secret key (never sent; signs requests).
    pub secret_key: String,
    /// An optional security token (STS).
    pub security_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Credentials {
    /// Credentials without a token.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Credentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            security_token: None,
        }
    }

    /// Adds `AccessKey`, `SecurityToken` and `Signature` to `request`.
    pub fn sign(&self, request: &mut RemotingCommand) {
        sign(self, &SigningKey::new(&self.secret_key), request);
    }

    /// These credentials with the secret key made ready for signing, for a client that signs
    /// every request it sends.
    pub(crate) fn prepare(&self) -> Signer {
        Signer {
            key: SigningKey::new(&self.secret_key),
            credentials: self.clone(),
        }
    }
}

/// [`Credentials`] and their prepared [`SigningKey`]: the HMAC pads are hashed once per client
/// instead of once per request.
pub(crate) struct Signer {
    credentials: Credentials,
    key: SigningKey,
}

impl Signer {
    /// [`Credentials::sign`] with the prepared key.
    pub(crate) fn sign(&self, request: &mut RemotingCommand) {
        sign(&self.credentials, &self.key, request);
    }
}

fn sign(credentials: &Credentials, key: &SigningKey, request: &mut RemotingCommand) {
    request.ext_fields.remove(acl::SIGNATURE);
    request
        .ext_fields
        .insert(acl::ACCESS_KEY, credentials.access_key.clone());
    if let Some(token) = &credentials.security_token {
        request
            .ext_fields
            .insert(acl::SECURITY_TOKEN, token.clone());
    }
    let signature = key.sign(request);
    request.ext_fields.insert(acl::SIGNATURE, signature);
}

#[cfg(test)]
mod tests {
    use ferromq_protocol::RequestCode;

    use super::*;

    #[test]
    fn signature_matches_the_java_client() {
        // Computed with javax.crypto HmacSHA1 over the TreeMap values + body, as
        // AclClientRPCHook does, for these fields, body "hello" and secret "12345678".
        let mut r = RemotingCommand::request(RequestCode::PULL_MESSAGE).with_body(&b"hello"[..]);
        r.ext_fields.insert("topic", "TopicTest");
        r.ext_fields.insert("queueId", "3");
        r.ext_fields.insert("consumerGroup", "cg");
        let mut prepared = r.clone();
        let credentials = Credentials::new("RocketMQ", "12345678");
        credentials.sign(&mut r);
        assert_eq!(r.ext_fields.get("AccessKey"), Some("RocketMQ"));
        assert_eq!(
            r.ext_fields.get("Signature"),
            Some("G4OotWCLgBupD1S1NUxNoPiRSh0=")
        );
        // The client's prepared key signs alike, and signing twice replaces the signature.
        let signer = credentials.prepare();
        signer.sign(&mut prepared);
        signer.sign(&mut prepared);
        assert_eq!(prepared.ext_fields, r.ext_fields);
    }
}
