//! Helm's release records as the server holds them: Secrets named
//! `sh.helm.release.v1.<release>.v<revision>` whose `release` key is base64 of the
//! gzipped release JSON (and base64 again, as every Secret value). Tests read them to
//! assert on the revisions Helm stored, and write one to set up a state such as a
//! release left `pending-upgrade` by a helm that was killed.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// The release JSON stored in one release Secret.
pub fn decode(secret: &Value) -> Option<Value> {
    let outer = STANDARD.decode(secret["data"]["release"].as_str()?).ok()?;
    let gzipped = STANDARD.decode(outer).ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gzipped.as_slice())
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// The release Secret Helm would write for `release` (its name, namespace, version
/// and `info.status` decide the Secret's name and labels).
pub fn encode(release: &Value) -> Option<Value> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(release.to_string().as_bytes()).ok()?;
    let inner = STANDARD.encode(gz.finish().ok()?);
    let name = release["name"].as_str()?;
    let version = release["version"].as_u64()?;
    let status = release["info"]["status"].as_str()?;
    Some(json!({
        "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
        "metadata": {
            "name": format!("sh.helm.release.v1.{name}.v{version}"),
            "namespace": release["namespace"],
            "labels": {"name": name, "owner": "helm", "status": status, "version": version.to_string()},
        },
        "data": {"release": STANDARD.encode(inner)},
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_release_survives_the_round_trip() {
        let release = serde_json::json!({"name": "api", "namespace": "api-test", "version": 3,
            "info": {"status": "pending-upgrade", "description": "Preparing upgrade"}});
        let secret = super::encode(&release).unwrap();
        assert_eq!(secret["metadata"]["name"], "sh.helm.release.v1.api.v3");
        assert_eq!(secret["metadata"]["labels"]["status"], "pending-upgrade");
        assert_eq!(super::decode(&secret), Some(release));
    }
}
