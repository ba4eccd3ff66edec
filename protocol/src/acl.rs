//! ACL 1.0 request signatures (docs/protocol.md, "ACL signing"; Java `AclClientRPCHook` and
//! `AclUtils`): a signed request carries `AccessKey` (and optionally `SecurityToken`) and a
//! `Signature`, the Base64 of the HMAC-SHA1, under the account's secret key, of the values of all
//! ext fields but `Signature` in key order (Java's `TreeMap`, UTF-16 code-unit order) followed by
//! the body.
//!
//! Both sides use this module: the client to sign ([`signature`]), the broker to check
//! ([`signature_with`] and [`constant_time_eq`]). SHA-1 is RustCrypto's `sha1` (SHA-NI or ARMv8
//! instructions when the CPU has them, portable code elsewhere, wasm32 included); HMAC and Base64
//! are written out here (a few lines each).

use sha1::{Digest, Sha1};

use crate::RemotingCommand;

/// The ext field carrying the access key.
pub const ACCESS_KEY: &str = "AccessKey";
/// The ext field carrying the signature.
pub const SIGNATURE: &str = "Signature";
/// The ext field carrying the optional security token.
pub const SECURITY_TOKEN: &str = "SecurityToken";

/// The signature of `request` under `secret_key`: every ext field but `Signature`, values in key
/// order, then the body.
pub fn signature(secret_key: &str, request: &RemotingCommand) -> String {
    SigningKey::new(secret_key).sign_with(request, |_| false)
}

/// [`signature`] leaving out, besides `Signature`, the ext fields for which `skip` is true (the
/// broker leaves out `_UNIQUE_KEY_QUERY` for clients at or before V4_9_3, as Apache's does).
pub fn signature_with(
    secret_key: &str,
    request: &RemotingCommand,
    skip: impl Fn(&str) -> bool,
) -> String {
    SigningKey::new(secret_key).sign_with(request, skip)
}

/// A secret key made ready for signing: the HMAC's inner and outer pads hashed once, so a
/// signature costs the hashing of the fields and the body only. The broker keeps one per
/// account.
#[derive(Clone)]
pub struct SigningKey {
    inner: Sha1,
    outer: Sha1,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// The key for `secret_key`.
    pub fn new(secret_key: &str) -> SigningKey {
        SigningKey::from_bytes(secret_key.as_bytes())
    }

    fn from_bytes(key: &[u8]) -> SigningKey {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..20].copy_from_slice(&Sha1::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut inner = Sha1::new();
        inner.update(k.map(|b| b ^ 0x36));
        let mut outer = Sha1::new();
        outer.update(k.map(|b| b ^ 0x5c));
        SigningKey { inner, outer }
    }

    /// The raw HMAC-SHA1 of `data` under this key. The 5.x gRPC SDKs sign the value of their
    /// `x-mq-date-time` header so and send it in hex (Apache's `DefaultAuthenticationContextBuilder`).
    pub fn mac(&self, data: &[u8]) -> [u8; 20] {
        let mut mac = HmacSha1 {
            inner: self.inner.clone(),
            outer: self.outer.clone(),
        };
        mac.update(data);
        mac.finish()
    }

    /// The signature of `request` ([`signature`]).
    pub fn sign(&self, request: &RemotingCommand) -> String {
        self.sign_with(request, |_| false)
    }

    /// The signature of `request` without the fields `skip` names ([`signature_with`]).
    pub fn sign_with(&self, request: &RemotingCommand, skip: impl Fn(&str) -> bool) -> String {
        let mut mac = HmacSha1 {
            inner: self.inner.clone(),
            outer: self.outer.clone(),
        };
        let signed = |k: &str| k != SIGNATURE && !skip(k);
        // Java's TreeMap orders String keys by UTF-16 code units. The ext fields are kept in
        // byte order, which is the same order when every key is ASCII (all of Apache's); a map
        // with other keys is sorted as UTF-16.
        if request.ext_fields.iter().all(|(k, _)| k.is_ascii()) {
            for (_, v) in request.ext_fields.iter().filter(|(k, _)| signed(k)) {
                mac.update(v.as_bytes());
            }
        } else {
            let mut fields: Vec<(&str, &str)> = request
                .ext_fields
                .iter()
                .filter(|(k, _)| signed(k))
                .collect();
            fields.sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            for (_, v) in fields {
                mac.update(v.as_bytes());
            }
        }
        mac.update(&request.body);
        crate::base64::encode(&mac.finish())
    }
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only (Java's
/// `MessageDigest.isEqual`), for comparing a received signature with the expected one.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA1 (RFC 2104) over data given in pieces, from a [`SigningKey`]'s hashed pads.
struct HmacSha1 {
    inner: Sha1,
    outer: Sha1,
}

impl HmacSha1 {
    #[cfg(test)]
    fn new(key: &[u8]) -> HmacSha1 {
        let k = SigningKey::from_bytes(key);
        HmacSha1 {
            inner: k.inner,
            outer: k.outer,
        }
    }

    fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    fn finish(self) -> [u8; 20] {
        let mut outer = self.outer;
        outer.update(self.inner.finalize());
        outer.finalize().into()
    }
}

#[cfg(test)]
fn sha1(data: &[u8]) -> [u8; 20] {
    Sha1::digest(data).into()
}

#[cfg(test)]
fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut m = HmacSha1::new(key);
    m.update(data);
    m.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RequestCode;

    #[test]
    fn primitives_match_known_answers() {
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        // Two blocks, and a key longer than the block (hashed first).
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&hmac_sha1(
                b"key",
                b"The quick brown fox jumps over the lazy dog"
            )),
            "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
        );
        assert_eq!(
            hex(&SigningKey::new("key").mac(b"The quick brown fox jumps over the lazy dog")),
            "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
        );
        // RFC 2202 test case 6: an 80-byte key.
        assert_eq!(
            hex(&hmac_sha1(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
        // Fed in pieces of every size (ext field values, then the body), the same MAC.
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
        let whole = hmac_sha1(b"12345678", &data);
        for piece in [1, 3, 63, 64, 65, 128] {
            let mut m = HmacSha1::new(b"12345678");
            for chunk in data.chunks(piece) {
                m.update(chunk);
            }
            assert_eq!(m.finish(), whole, "pieces of {piece}");
        }
        // Lengths around the padding boundaries (Python's hashlib).
        for (len, digest) in [
            (55, "aecd1643c9903b9bae8cb94f53c50f8a4e18605b"),
            (56, "f5d65c621c02cc8e785159feff8088e3072da1bc"),
            (63, "4952f0fe097e4d6410ae9eab4855aa836caf3bff"),
            (64, "1e17ae1fc093e5daca033553c97a5192ca164486"),
            (65, "ac44f5dbe3e9b5d2733fc9537fcad715c3c20bc3"),
            (300, "c171cf8316b7c44ede787146936af403e0ec9de1"),
        ] {
            assert_eq!(hex(&sha1(&data[..len])), digest, "length {len}");
        }
        assert_eq!(crate::base64::encode(b""), "");
        assert_eq!(crate::base64::encode(b"f"), "Zg==");
        assert_eq!(crate::base64::encode(b"fo"), "Zm8=");
        assert_eq!(crate::base64::encode(b"foo"), "Zm9v");
    }

    fn sample() -> RemotingCommand {
        let mut r = RemotingCommand::request(RequestCode::PULL_MESSAGE).with_body(&b"hello"[..]);
        r.ext_fields.insert("topic", "TopicTest");
        r.ext_fields.insert("queueId", "3");
        r.ext_fields.insert("consumerGroup", "cg");
        r.ext_fields.insert(ACCESS_KEY, "RocketMQ");
        r
    }

    #[test]
    fn signature_matches_the_java_client() {
        // Computed with javax.crypto HmacSHA1 over the TreeMap values + body, as
        // AclClientRPCHook does, for these fields, body "hello" and secret "12345678".
        let mut r = sample();
        assert_eq!(signature("12345678", &r), "G4OotWCLgBupD1S1NUxNoPiRSh0=");
        // A Signature field already present is not signed.
        r.ext_fields.insert(SIGNATURE, "whatever");
        assert_eq!(signature("12345678", &r), "G4OotWCLgBupD1S1NUxNoPiRSh0=");
        // Skipping a field is the same as not having it.
        r.ext_fields.insert("_UNIQUE_KEY_QUERY", "true");
        assert_ne!(signature("12345678", &r), "G4OotWCLgBupD1S1NUxNoPiRSh0=");
        assert_eq!(
            signature_with("12345678", &r, |k| k == "_UNIQUE_KEY_QUERY"),
            "G4OotWCLgBupD1S1NUxNoPiRSh0="
        );
        // The body and the secret are signed.
        assert_ne!(
            signature("12345678", &sample().with_body(&b"hellO"[..])),
            "G4OotWCLgBupD1S1NUxNoPiRSh0="
        );
        assert_ne!(
            signature("12345679", &sample()),
            "G4OotWCLgBupD1S1NUxNoPiRSh0="
        );
    }

    #[test]
    fn keys_sort_as_java_strings() {
        // U+1F600 (UTF-16 D83D DE00) sorts before U+FF21 in Java's UTF-16 order, after it in
        // UTF-8 byte order: the values must come "y" then "x".
        let mut a = RemotingCommand::request(RequestCode::HEART_BEAT);
        a.ext_fields.insert("\u{FF21}", "x");
        a.ext_fields.insert("\u{1F600}", "y");
        let mut b = RemotingCommand::request(RequestCode::HEART_BEAT);
        b.ext_fields.insert("k1", "y");
        b.ext_fields.insert("k2", "x");
        assert_eq!(signature("s", &a), signature("s", &b));
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
