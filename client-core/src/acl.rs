//! ACL 1.0 request signing (docs/protocol.md, "ACL signing", Java `AclClientRPCHook`): every
//! request carries `AccessKey` (and `SecurityToken`) and a `Signature`, the Base64 HMAC-SHA1 under
//! the secret key of the values of all ext fields in key order followed by the body.

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
        request.ext_fields.remove("Signature");
        request
            .ext_fields
            .insert("AccessKey", self.access_key.clone());
        if let Some(token) = &self.security_token {
            request.ext_fields.insert("SecurityToken", token.clone());
        }
        // Java's TreeMap orders keys by UTF-16 code units.
        let mut fields: Vec<(&str, &str)> = request.ext_fields.iter().collect();
        fields.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
        let mut content = Vec::new();
        for (_, v) in fields {
            content.extend_from_slice(v.as_bytes());
        }
        content.extend_from_slice(&request.body);
        let signature = base64(&hmac_sha1(self.secret_key.as_bytes(), &content));
        request.ext_fields.insert("Signature", signature);
    }
}

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i / 20 {
                0 => ((b & c) | (!b & d), 0x5A82_7999),
                1 => (b ^ c ^ d, 0x6ED9_EBA1),
                2 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&sha1(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    inner.extend_from_slice(data);
    let mut outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    outer.extend_from_slice(&sha1(&inner));
    sha1(&outer)
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ferromq_protocol::RequestCode;

    use super::*;

    #[test]
    fn primitives_match_known_answers() {
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&hmac_sha1(
                b"key",
                b"The quick brown fox jumps over the lazy dog"
            )),
            "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
        );
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

    #[test]
    fn signature_matches_the_java_client() {
        // Computed with javax.crypto HmacSHA1 over the TreeMap values + body, as
        // AclClientRPCHook does, for these fields, body "hello" and secret "12345678".
        let mut r = RemotingCommand::request(RequestCode::PULL_MESSAGE).with_body(&b"hello"[..]);
        r.ext_fields.insert("topic", "TopicTest");
        r.ext_fields.insert("queueId", "3");
        r.ext_fields.insert("consumerGroup", "cg");
        Credentials::new("RocketMQ", "12345678").sign(&mut r);
        assert_eq!(r.ext_fields.get("AccessKey"), Some("RocketMQ"));
        assert_eq!(
            r.ext_fields.get("Signature"),
            Some("G4OotWCLgBupD1S1NUxNoPiRSh0=")
        );
    }
}
