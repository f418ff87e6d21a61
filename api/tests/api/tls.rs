//! The api's database connection over TLS with `verify-full` and a CA bundle of its own
//! (`DB_SSLROOTCERT`), as prod connects to a database whose certificate a private CA
//! signed. The test makes a CA and a server certificate for `localhost`, and puts a TLS
//! front in front of the test PostgreSQL: it answers the PostgreSQL `SSLRequest`, does
//! the TLS handshake with that certificate, and relays the rest to the real server.

use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Pki {
    ca_pem: String,
    server_cert: rustls::pki_types::CertificateDer<'static>,
    server_key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn make_pki(host: &str) -> Pki {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "database test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert = rcgen::CertificateParams::new(vec![host.to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca_cert, &ca_key)
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server_cert: server_cert.der().clone(),
        server_key: rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into()),
    }
}

/// Listens on a loopback port; each connection's `SSLRequest` is answered `S`, TLS is
/// terminated with the given certificate, and the rest goes to `backend` in the clear.
async fn tls_front(pki: &Pki, backend: (String, u16)) -> u16 {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![pki.server_cert.clone()], pki.server_key.clone_key())
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if client.read_exact(&mut request).await.is_err()
                    || request[4..] != [0x04, 0xd2, 0x16, 0x2f]
                {
                    return; // not an SSLRequest: this front speaks TLS only
                }
                if client.write_all(b"S").await.is_err() {
                    return;
                }
                let Ok(mut tls) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut server) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut server).await;
            });
        }
    });
    port
}

async fn migrate_through_tls(
    db: &PgConnectOptions,
    port: u16,
    ca_file: &std::path::Path,
) -> crate::cli::Finished {
    let base = reqwest::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    let mut env = vec![
        ("DB_HOST", "localhost".to_owned()),
        ("DB_PORT", port.to_string()),
        ("DB_NAME", db.get_database().unwrap().to_owned()),
        ("DB_USER", db.get_username().to_owned()),
        ("DB_SSLMODE", "verify-full".to_owned()),
        ("DB_SSLROOTCERT", ca_file.to_string_lossy().into_owned()),
    ];
    if let Some(password) = base.password() {
        env.push(("DB_PASSWORD", password.to_owned()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::cli::finish(crate::cli::api(&["migrate"], &env)).await
}

#[sqlx::test(migrations = false)]
async fn verify_full_with_the_databases_own_ca_connects_and_a_wrong_ca_fails_naming_it(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let pki = make_pki("localhost");
    let port = tls_front(&pki, (db.get_host().to_owned(), db.get_port())).await;
    let dir = std::env::temp_dir().join(format!("api-tls-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let right = dir.join("ca.crt");
    std::fs::write(&right, &pki.ca_pem).unwrap();
    let migrated = migrate_through_tls(&db, port, &right).await;
    assert!(migrated.success, "{}", migrated.output);
    assert!(
        migrated.output.contains("applied migration"),
        "{}",
        migrated.output
    );

    // A bundle with another CA: the server's certificate is not trusted.
    let wrong = dir.join("other-ca.crt");
    std::fs::write(&wrong, make_pki("localhost").ca_pem).unwrap();
    let refused = migrate_through_tls(&db, port, &wrong).await;
    assert!(!refused.success);
    let error = refused
        .output
        .lines()
        .find(|l| l.starts_with("api: error:"))
        .unwrap_or_default();
    assert!(
        error.contains("TLS") && error.contains("DB_SSLROOTCERT"),
        "{}",
        refused.output
    );
    let _ = std::fs::remove_dir_all(dir);
}
