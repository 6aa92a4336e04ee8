//! Functions the emulator knows, and how a caller names them.
//!
//! Lambda accepts a function name, a partial ARN (`123456789012:function:name`) or a full ARN,
//! each with an optional `:qualifier`; [`FunctionRef::parse`] turns any of them into a name once,
//! so the rest of the emulator deals with one validated shape.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::config::ACCOUNT_ID;
use crate::pool::FunctionPool;

/// Everything the emulator needs to run one function.
#[derive(Clone, Debug)]
pub struct FunctionConfig {
    pub name: String,
    /// The template's logical ID, when the function came from one (`--env-vars` files name
    /// functions by it).
    pub logical_id: Option<String>,
    /// The function's executable (a `lambda_runtime` binary: Lambda's `bootstrap`).
    pub binary: PathBuf,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub environment: BTreeMap<String, String>,
    pub reserved_concurrency: Option<u32>,
    pub architectures: Vec<String>,
    pub http_routes: Vec<HttpRoute>,
    pub sqs_sources: Vec<SqsSource>,
    pub logging: crate::variables::LoggingConfig,
}

impl FunctionConfig {
    /// A function with SAM's defaults: 3 s timeout, 128 MB, x86_64, no events.
    pub fn new(name: impl Into<String>, binary: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            logical_id: None,
            binary: binary.into(),
            timeout: Duration::from_secs(3),
            memory_mb: 128,
            environment: BTreeMap::new(),
            reserved_concurrency: None,
            architectures: vec!["x86_64".into()],
            http_routes: Vec::new(),
            sqs_sources: Vec::new(),
            logging: crate::variables::LoggingConfig::default(),
        }
    }
}

/// An HTTP API route (`Events: Type: HttpApi`). `method` is upper case or `ANY`; `path` is
/// `$default` or an API Gateway path such as `/orders/{id}` or `/{proxy+}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
}

/// An SQS event source mapping (`Events: Type: SQS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsSource {
    pub queue_name: String,
    pub batch_size: u32,
    pub maximum_batching_window: Duration,
    pub report_batch_item_failures: bool,
    pub enabled: bool,
}

impl SqsSource {
    /// Lambda's defaults: batch of 10, no batching window, whole-batch failure reporting.
    pub fn new(queue_name: impl Into<String>) -> Self {
        Self {
            queue_name: queue_name.into(),
            batch_size: 10,
            maximum_batching_window: Duration::ZERO,
            report_batch_item_failures: false,
            enabled: true,
        }
    }
}

/// A caller's way of naming a function, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
    /// Region and account when the caller gave a full or partial ARN.
    pub region: Option<String>,
    pub account: Option<String>,
}

/// Why a function reference is malformed (Lambda answers these with a `ValidationException`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "1 validation error detected: Value '{0}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}}:)?(\\d{{12}}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
)]
pub struct InvalidFunctionRef(pub String);

impl FunctionRef {
    pub fn parse(input: &str) -> Result<Self, InvalidFunctionRef> {
        let invalid = || InvalidFunctionRef(input.to_owned());
        let parts: Vec<&str> = input.split(':').collect();
        let (region, account, name, qualifier) = match parts.as_slice() {
            [name] => (None, None, *name, None),
            [name, qualifier] => (None, None, *name, Some(*qualifier)),
            [account, "function", name] => (None, Some(*account), *name, None),
            [account, "function", name, qualifier] => {
                (None, Some(*account), *name, Some(*qualifier))
            }
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                name,
                rest @ ..,
            ] if partition.starts_with("aws") && rest.len() <= 1 => {
                (Some(*region), Some(*account), *name, rest.first().copied())
            }
            _ => return Err(invalid()),
        };
        let is_word = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let name_ok = is_word(name) && name.len() <= 64;
        let account_ok =
            account.is_none_or(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        let qualifier_ok =
            qualifier.is_none_or(|q| q == "$LATEST" || (is_word(q) && q.len() <= 128));
        let region_ok = region.is_none_or(|r| {
            !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        if !(name_ok && account_ok && qualifier_ok && region_ok) {
            return Err(invalid());
        }
        Ok(Self {
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            region: region.map(str::to_owned),
            account: account.map(str::to_owned),
        })
    }
}

/// The ARN of the SQS queue `name` in `region`, as the emulator's event source mappings put it
/// in `eventSourceARN` (and `!GetAtt Queue.Arn` resolves in a template).
pub fn queue_arn(region: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}")
}

/// The function ARN for `name` in `region`.
pub fn function_arn(region: &str, name: &str) -> String {
    arn(region, ACCOUNT_ID, name, None)
}

/// A function ARN, with `:qualifier` when there is one.
fn arn(region: &str, account: &str, name: &str, qualifier: Option<&str>) -> String {
    let mut arn = format!("arn:aws:lambda:{region}:{account}:function:{name}");
    if let Some(qualifier) = qualifier {
        arn.push(':');
        arn.push_str(qualifier);
    }
    arn
}

/// The functions being served, by name.
pub(crate) struct Registry {
    region: String,
    functions: RwLock<HashMap<String, Arc<FunctionPool>>>,
}

impl Registry {
    pub(crate) fn new(region: String) -> Self {
        Self {
            region,
            functions: RwLock::default(),
        }
    }

    pub(crate) fn region(&self) -> &str {
        &self.region
    }

    pub(crate) fn insert(&self, pool: Arc<FunctionPool>) -> Option<Arc<FunctionPool>> {
        let name = pool.config().name.clone();
        self.functions
            .write()
            .expect("registry lock")
            .insert(name, pool)
    }

    pub(crate) fn all(&self) -> Vec<Arc<FunctionPool>> {
        let mut pools: Vec<_> = self
            .functions
            .read()
            .expect("registry lock")
            .values()
            .cloned()
            .collect();
        pools.sort_by(|a, b| a.config().name.cmp(&b.config().name));
        pools
    }

    /// Resolves a reference to a function of this emulator. `None` when it names another
    /// region or account, an unknown function, or a qualifier other than `$LATEST` (only the
    /// unpublished version exists locally) — Lambda reports all of those as not found.
    pub(crate) fn resolve(&self, reference: &FunctionRef) -> Option<Arc<FunctionPool>> {
        let here = reference.region.as_deref().is_none_or(|r| r == self.region)
            && reference.account.as_deref().is_none_or(|a| a == ACCOUNT_ID)
            && reference
                .qualifier
                .as_deref()
                .is_none_or(|q| q == "$LATEST");
        if !here {
            return None;
        }
        self.functions
            .read()
            .expect("registry lock")
            .get(&reference.name)
            .cloned()
    }

    /// The ARN Lambda names in a "Function not found" message for `reference`.
    pub(crate) fn not_found_arn(&self, reference: &FunctionRef) -> String {
        let region = reference.region.as_deref().unwrap_or(&self.region);
        let account = reference.account.as_deref().unwrap_or(ACCOUNT_ID);
        arn(
            region,
            account,
            &reference.name,
            reference.qualifier.as_deref(),
        )
    }

    /// The ARN Lambda hands the function as the one it was invoked with
    /// (`Lambda-Runtime-Invoked-Function-Arn`, the context's `invoked_function_arn`) for a
    /// reference that [`Registry::resolve`] accepted: always a full ARN, with the caller's
    /// qualifier when it gave one (by name, ARN or `?Qualifier=`) — a function tells how it was
    /// called (`$LATEST`, an alias) from it.
    pub(crate) fn invoked_arn(&self, reference: &FunctionRef) -> String {
        arn(
            &self.region,
            ACCOUNT_ID,
            &reference.name,
            reference.qualifier.as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_lambda_accepts() {
        let plain = FunctionRef::parse("my-fn").unwrap();
        assert_eq!((plain.name.as_str(), plain.qualifier), ("my-fn", None));
        let qualified = FunctionRef::parse("my-fn:$LATEST").unwrap();
        assert_eq!(qualified.qualifier.as_deref(), Some("$LATEST"));
        let partial = FunctionRef::parse("000000000000:function:my_fn").unwrap();
        assert_eq!(
            (partial.name.as_str(), partial.account.as_deref()),
            ("my_fn", Some("000000000000"))
        );
        let full =
            FunctionRef::parse("arn:aws:lambda:eu-west-1:000000000000:function:f:prod").unwrap();
        assert_eq!(full.region.as_deref(), Some("eu-west-1"));
        assert_eq!(full.qualifier.as_deref(), Some("prod"));
    }

    #[test]
    fn the_invoked_arn_keeps_the_callers_qualifier() {
        let registry = Registry::new("us-east-1".into());
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
        for (reference, expected) in [
            ("f", arn.to_owned()),
            ("000000000000:function:f", arn.to_owned()),
            ("f:$LATEST", format!("{arn}:$LATEST")),
            (&format!("{arn}:$LATEST"), format!("{arn}:$LATEST")),
        ] {
            assert_eq!(
                registry.invoked_arn(&FunctionRef::parse(reference).unwrap()),
                expected,
                "{reference}"
            );
        }
    }

    #[test]
    fn rejects_malformed_references() {
        for bad in [
            "",
            "a b",
            "fn:",
            "fn:a:b",
            "12345:function:fn",
            "arn:aws:s3:us-east-1:000000000000:function:fn",
            "arn:aws:lambda:us-east-1:000000000000:layer:fn",
            "arn:aws:lambda:us-east-1:000000000000:function:fn:1:2",
            "../../etc/passwd",
            &"x".repeat(65),
        ] {
            assert!(
                FunctionRef::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
