//! `push-events sign`: the headers `POST /orders` needs, for a body file — so the README can show
//! a signed `curl`. The signature covers the exact bytes of the file, so `curl` must send the file
//! as is (`--data-binary @file`, not `-d`, which strips newlines).

use std::path::Path;

use shared::signing::{Secret, signed_headers};

/// The header lines, or a complete `curl` command when `url` is given.
pub fn sign(body_file: &Path, secret: &str, url: Option<&str>) -> anyhow::Result<String> {
    let secret = Secret::new(secret).map_err(|e| anyhow::anyhow!("SHOPFLOW_INGEST_SECRET: {e}"))?;
    let body = std::fs::read(body_file)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", body_file.display()))?;
    let headers = signed_headers(&secret, &body);
    Ok(match url {
        None => headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect(),
        Some(url) => {
            let mut command = format!(
                "curl -i -X POST {}/orders -H 'content-type: application/json'",
                url.trim_end_matches('/')
            );
            for (name, value) in &headers {
                command.push_str(&format!(" -H '{name}: {value}'"));
            }
            command.push_str(&format!(" --data-binary @{}\n", body_file.display()));
            command
        }
    })
}

#[cfg(test)]
mod tests {
    use shared::signing::{SIGNATURE_HEADER, TIMESTAMP_HEADER, unix_now, verify};

    use super::*;

    const KEY: &str = "push-events-test-key-0123456789abcdef";

    #[test]
    fn the_printed_headers_verify_against_the_file() {
        let file =
            std::env::temp_dir().join(format!("push-events-sign-{}.json", std::process::id()));
        std::fs::write(&file, "{\"orderId\":\"A-1\"}\n").unwrap();
        let out = sign(&file, KEY, None).unwrap();
        let header = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_owned)
        };
        let secret = Secret::new(KEY).unwrap();
        let body = std::fs::read(&file).unwrap();
        assert_eq!(
            verify(
                &secret,
                header(TIMESTAMP_HEADER).as_deref(),
                header(SIGNATURE_HEADER).as_deref(),
                &body,
                unix_now()
            ),
            Ok(())
        );
        let curl = sign(&file, KEY, Some("http://127.0.0.1:9000/")).unwrap();
        assert!(
            curl.starts_with("curl -i -X POST http://127.0.0.1:9000/orders")
                && curl.contains("--data-binary @"),
            "{curl}"
        );
        assert!(sign(&file, " ", None).is_err());
        let short = sign(&file, "hunter2", None).unwrap_err().to_string();
        assert!(short.contains("at least 32"), "{short}");
        std::fs::remove_file(file).unwrap();
    }
}
