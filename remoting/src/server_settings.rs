//! The settings every FerroMQ server reads alike: [`server_settings!`](crate::server_settings!)
//! declares a server's settings struct (with [`ferromq_common::settings!`]) and appends, after
//! the server's own keys, the groups it names:
//!
//! - `transport`: the WebSocket listener's address and allowed origins, the connection limit and
//!   the write-buffer water marks (the struct must have a `bind_address` of its own);
//! - `server_tls`: Apache's `tls.server.*` keys, `tls.config.file` and `tls.test.mode.enable`,
//!   with a `tls_keys()` method resolving them;
//! - `client_tls`: `tls.enable` and the `tls.client.*` keys, for the connections the server
//!   dials.
//!
//! One declaration per key keeps the name server, the broker and the controller reading the
//! same keys with the same defaults and the same documentation.

#[doc(hidden)]
pub use ferromq_common as __common;

/// Declares a server's settings struct with shared key groups appended (see the
/// [module](mod@crate::server_settings) docs): `server_settings! { [transport, server_tls,
/// client_tls] /// docs pub struct Name { own keys } }`, each own key written as for
/// [`ferromq_common::settings!`]. The groups are appended in the order named.
#[macro_export]
macro_rules! server_settings {
    ([] $($rest:tt)*) => {
        $crate::server_settings::__common::settings! { $($rest)* }
    };
    ([transport $(, $group:ident)*] $(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $crate::server_settings! { [$($group),*] $(#[$meta])* pub struct $name { $($body)*
            /// `webSocketBindAddress` (FerroMQ only): the address the WebSocket port listens on;
            /// empty (the default) = `bindAddress`.
            web_socket_bind_address: String = String::new(), "webSocketBindAddress", false;
            /// `webSocketAllowedOrigins` (FerroMQ only): comma-separated origins of the web pages
            /// that may open a WebSocket (`https://app.example.com`, `*` for any); empty (the
            /// default) admits pages of the host the WebSocket was dialed at, any port. Upgrades
            /// without an `Origin` header (programs, not pages) are always admitted; others are
            /// answered 403.
            web_socket_allowed_origins: String = String::new(), "webSocketAllowedOrigins", false;
            /// `serverMaxConnections` (FerroMQ only; Apache has no limit): connections each
            /// listener keeps open at once (10000); beyond it new connections are closed at
            /// accept with a log line. 0 = no limit.
            server_max_connections: usize = 10_000, "serverMaxConnections", false;
            /// `writeBufferHighWaterMark` (Apache's `NettyServerConfig`; 0, the default, =
            /// Netty's 64 KiB): bytes of responses queued for a connection above which the
            /// server stops reading its requests until the queue is under
            /// `writeBufferLowWaterMark`; a client that then reads nothing for
            /// `serverChannelMaxIdleTimeSeconds` is disconnected.
            write_buffer_high_water_mark: usize = 0, "writeBufferHighWaterMark", false;
            /// `writeBufferLowWaterMark` (Apache's `NettyServerConfig`; 0, the default, =
            /// Netty's 32 KiB): where reading resumes.
            write_buffer_low_water_mark: usize = 0, "writeBufferLowWaterMark", false;
        } }

        impl $name {
            /// The address the WebSocket port listens on: `webSocketBindAddress`, else
            /// `bindAddress`.
            pub fn web_socket_bind_address(&self) -> &str {
                match self.web_socket_bind_address.trim() {
                    "" => &self.bind_address,
                    a => a,
                }
            }
        }
    };
    ([server_tls $(, $group:ident)*] $(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $crate::server_settings! { [$($group),*] $(#[$meta])* pub struct $name { $($body)*
            /// `tls.server.mode`: disabled, permissive (TLS and plaintext on one port; the
            /// default) or enforcing. Permissive without `tls.server.certPath` serves plaintext
            /// only.
            tls_server_mode: String = "permissive".to_owned(), "tls.server.mode", false;
            /// `tls.server.certPath`: the server's certificate chain (PEM).
            tls_server_cert_path: String = String::new(), "tls.server.certPath", false;
            /// `tls.server.keyPath`: its private key (PEM: PKCS#8, RSA or EC; not encrypted,
            /// so `tls.server.keyPassword` is not a key here: an encrypted key stops start-up).
            tls_server_key_path: String = String::new(), "tls.server.keyPath", false;
            /// `tls.server.trustCertPath`: CAs client certificates must chain to (mTLS).
            tls_server_trust_cert_path: String = String::new(), "tls.server.trustCertPath", false;
            /// `tls.server.need.client.auth`: none (the default), optional or require.
            tls_server_need_client_auth: String = "none".to_owned(), "tls.server.need.client.auth", false;
            /// `tls.server.authClient`: accepted and ignored; client certificates are always
            /// checked against `tls.server.trustCertPath` (Apache trusts any unless this is
            /// true).
            tls_server_auth_client: bool = false, "tls.server.authClient", false;
            /// `tls.config.file`: a properties file whose `tls.*` keys override these
            /// (`/etc/rocketmq/tls.properties`, read when it exists).
            tls_config_file: String = $crate::DEFAULT_TLS_CONFIG_FILE.to_owned(), "tls.config.file", false;
            /// `tls.test.mode.enable` (false in FerroMQ; Apache's default true makes its servers
            /// use a throw-away self-signed certificate and its clients trust anything): for the
            /// port served, accepted and ignored; for the server's own connections, trust any
            /// server.
            tls_test_mode_enable: bool = false, "tls.test.mode.enable", false;
        } }

        impl $name {
            /// Apache's TLS keys as set here, overridden by `tls.config.file` when it exists.
            pub fn tls_keys(&self) -> ::std::result::Result<$crate::TlsKeys, $crate::TlsError> {
                $crate::TlsKeys::resolve(self.to_pairs())
            }
        }
    };
    ([client_tls $(, $group:ident)*] $(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $crate::server_settings! { [$($group),*] $(#[$meta])* pub struct $name { $($body)*
            /// `tls.enable`: dial the servers this one connects to (name servers, a master,
            /// peer controllers, brokers) over TLS.
            tls_enable: bool = false, "tls.enable", false;
            /// `tls.client.authServer` (true in FerroMQ, false in Apache): check the
            /// certificates of the servers dialed; false trusts any.
            tls_client_auth_server: bool = true, "tls.client.authServer", false;
            /// `tls.client.trustCertPath`: CAs of the servers dialed (else the system's).
            tls_client_trust_cert_path: String = String::new(), "tls.client.trustCertPath", false;
            /// `tls.client.certPath`: this server's client certificate (PEM), for peers that
            /// require one (mTLS).
            tls_client_cert_path: String = String::new(), "tls.client.certPath", false;
            /// `tls.client.keyPath`: its private key (PEM).
            tls_client_key_path: String = String::new(), "tls.client.keyPath", false;
        } }
    };
}
