//! Reads the functions of a SAM template (`AWS::Serverless::Function`): name, Timeout,
//! MemorySize, Environment, ReservedConcurrentExecutions, Architectures, `HttpApi` and `SQS`
//! events, with `Globals.Function` defaults, and maps each to its locally built binary.
//!
//! SAM's short-form tags (`!Ref`, `!Sub`, ...) parse as tagged YAML values; they and their long
//! forms (`Ref`, `Fn::Sub`, ...) are resolved for the fields the emulator reads: `Ref` to a
//! Parameter (its Default or an override), a pseudo parameter or a resource; `Sub`; `GetAtt`
//! (`Arn`/`QueueName`/`QueueUrl` of a queue, `Arn` of a function); `Join`; `Select`. Anything
//! else in those fields is an error naming it; the rest of the template is not looked at.
//!
//! Its SQS queues (name, VisibilityTimeout, MessageRetentionPeriod, RedrivePolicy) are read the
//! same way, so the local stack creates them as the template declares them.
//!
//! Names CloudFormation would generate (a function or queue without an explicit name) are the
//! logical IDs locally. A function's binary is `BuildProperties.Binary` for
//! `BuildMethod: rust-cargolambda`, else the last component of `CodeUri`, else the logical ID,
//! under the binary folder; an explicit override per function wins.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use crate::config::ACCOUNT_ID;
use crate::registry::{FunctionConfig, HttpRoute, SqsSource, function_arn, queue_arn};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("{context}: {message}")]
    Invalid { context: String, message: String },
}

fn invalid(context: impl Into<String>, message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid {
        context: context.into(),
        message: message.into(),
    }
}

/// How to read a template.
#[derive(Clone, Debug)]
pub struct TemplateOptions {
    pub region: String,
    /// `AWS::StackName`.
    pub stack_name: String,
    /// Where the built binaries are (`target/<profile>`).
    pub bin_dir: PathBuf,
    /// Binary per function name or logical ID, overriding the template.
    pub binaries: HashMap<String, PathBuf>,
    /// Parameter values overriding the template's defaults.
    pub parameters: HashMap<String, String>,
}

impl TemplateOptions {
    pub fn new(bin_dir: impl Into<PathBuf>) -> Self {
        Self {
            region: "us-east-1".into(),
            stack_name: "local".into(),
            bin_dir: bin_dir.into(),
            binaries: HashMap::new(),
            parameters: HashMap::new(),
        }
    }
}

/// Reads the functions of the template at `path`.
pub fn load(path: &Path, options: &TemplateOptions) -> Result<Vec<FunctionConfig>, TemplateError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| TemplateError::Read(path.to_owned(), e))?;
    parse(&text, options)
}

/// Reads the functions of a template given as text.
pub fn parse(text: &str, options: &TemplateOptions) -> Result<Vec<FunctionConfig>, TemplateError> {
    let template: Value = serde_yaml::from_str(text)?;
    let globals = template
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(Value::as_mapping)
        .unwrap_or(&EMPTY);
    let resolver = Resolver::new(&template, options)?;
    resolver
        .resources_of_type("AWS::Serverless::Function")?
        .into_iter()
        .map(|(logical_id, resource, properties)| {
            function(
                &resolver,
                &format!("Resources.{logical_id}"),
                logical_id,
                resource,
                properties,
                globals,
            )
        })
        .collect()
}

/// An `AWS::SQS::Queue` of the template, with what it takes to create it on a local SQS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    pub logical_id: String,
    /// `QueueName`, else the logical ID.
    pub name: String,
    pub visibility_timeout: Option<Duration>,
    pub message_retention_period: Option<Duration>,
    pub redrive_policy: Option<RedrivePolicy>,
}

/// A queue's `RedrivePolicy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedrivePolicy {
    /// The name of the queue `deadLetterTargetArn` names.
    pub dead_letter_queue: String,
    pub max_receive_count: u32,
}

/// Reads the SQS queues of the template at `path`.
pub fn load_queues(
    path: &Path,
    options: &TemplateOptions,
) -> Result<Vec<QueueConfig>, TemplateError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| TemplateError::Read(path.to_owned(), e))?;
    parse_queues(&text, options)
}

/// Reads the SQS queues of a template given as text (`Ref`s to parameters resolved as for functions).
pub fn parse_queues(
    text: &str,
    options: &TemplateOptions,
) -> Result<Vec<QueueConfig>, TemplateError> {
    let template: Value = serde_yaml::from_str(text)?;
    let resolver = Resolver::new(&template, options)?;
    resolver
        .resources_of_type("AWS::SQS::Queue")?
        .into_iter()
        .map(|(logical_id, _, properties)| {
            let context = format!("Resources.{logical_id}");
            let property = |name: &str| -> Result<Option<Value>, TemplateError> {
                properties
                    .get(name)
                    .map(|value| resolver.resolve(value, &format!("{context}.{name}")))
                    .transpose()
            };
            let seconds =
                |name: &str, min: u64, max: u64| -> Result<Option<Duration>, TemplateError> {
                    let context = format!("{context}.{name}");
                    Ok(property(name)?
                        .map(|value| number(&value, &context, min, max))
                        .transpose()?
                        .map(Duration::from_secs))
                };
            let redrive_policy = match property("RedrivePolicy")? {
                None => None,
                Some(policy) => {
                    let context = format!("{context}.RedrivePolicy");
                    let field = |name: &str| {
                        policy
                            .get(name)
                            .ok_or_else(|| invalid(&context, format!("no {name}")))
                    };
                    let arn = scalar(field("deadLetterTargetArn")?, &context)?;
                    let dead_letter_queue = arn
                        .rsplit(':')
                        .next()
                        .filter(|n| !n.is_empty())
                        .ok_or_else(|| invalid(&context, format!("{arn:?} is not a queue ARN")))?;
                    let max_receive_count = number(
                        field("maxReceiveCount")?,
                        &format!("{context}.maxReceiveCount"),
                        1,
                        1000,
                    )? as u32;
                    Some(RedrivePolicy {
                        dead_letter_queue: dead_letter_queue.to_owned(),
                        max_receive_count,
                    })
                }
            };
            Ok(QueueConfig {
                logical_id: logical_id.to_owned(),
                name: resolver.resource_name(logical_id, "QueueName", &context)?,
                visibility_timeout: seconds("VisibilityTimeout", 0, 43_200)?,
                message_retention_period: seconds("MessageRetentionPeriod", 60, 1_209_600)?,
                redrive_policy,
            })
        })
        .collect()
}

fn function(
    resolver: &Resolver<'_>,
    context: &str,
    logical_id: &str,
    resource: &Value,
    properties: &Mapping,
    globals: &Mapping,
) -> Result<FunctionConfig, TemplateError> {
    // A property of the function, else of Globals.Function, resolved.
    let property = |name: &str| -> Result<Option<Value>, TemplateError> {
        match properties.get(name).or_else(|| globals.get(name)) {
            Some(value) => resolver
                .resolve(value, &format!("{context}.{name}"))
                .map(Some),
            None => Ok(None),
        }
    };
    let name = match property("FunctionName")? {
        Some(value) => scalar(&value, &format!("{context}.FunctionName"))?,
        None => logical_id.to_owned(),
    };
    let binary = binary(resolver, context, logical_id, &name, resource, properties)?;
    let mut config = FunctionConfig::new(name, binary);
    config.logical_id = Some(logical_id.to_owned());
    if let Some(timeout) = property("Timeout")? {
        config.timeout =
            Duration::from_secs(number(&timeout, &format!("{context}.Timeout"), 1, 900)?);
    }
    if let Some(memory) = property("MemorySize")? {
        config.memory_mb = number(&memory, &format!("{context}.MemorySize"), 128, 10240)? as u32;
    }
    if let Some(reserved) = property("ReservedConcurrentExecutions")? {
        config.reserved_concurrency = Some(number(
            &reserved,
            &format!("{context}.ReservedConcurrentExecutions"),
            0,
            100_000,
        )? as u32);
    }
    if let Some(Value::Sequence(architectures)) = property("Architectures")? {
        config.architectures = architectures
            .iter()
            .map(|a| scalar(a, &format!("{context}.Architectures")))
            .collect::<Result<_, _>>()?;
    }
    // Globals' variables first, the function's on top (SAM merges the maps).
    for source in [globals, properties] {
        let variables = source
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .and_then(Value::as_mapping);
        for (key, value) in variables.into_iter().flatten() {
            let key = scalar(key, &format!("{context}.Environment"))?;
            let value =
                resolver.resolve(value, &format!("{context}.Environment.Variables.{key}"))?;
            config.environment.insert(
                key.clone(),
                scalar(&value, &format!("{context}.Environment.Variables.{key}"))?,
            );
        }
    }
    crate::variables::validate(&config.environment)
        .map_err(|message| invalid(format!("{context}.Environment.Variables"), message))?;
    if let Some(logging) = property("LoggingConfig")? {
        let field = |name: &str| {
            logging
                .get(name)
                .map(|v| scalar(v, &format!("{context}.LoggingConfig.{name}")))
                .transpose()
        };
        let (format, application, system) = (
            field("LogFormat")?,
            field("ApplicationLogLevel")?,
            field("SystemLogLevel")?,
        );
        config.logging = crate::variables::LoggingConfig::parse(
            format.as_deref(),
            application.as_deref(),
            system.as_deref(),
        )
        .map_err(|message| invalid(format!("{context}.LoggingConfig"), message))?;
    }
    let events = properties.get("Events").and_then(Value::as_mapping);
    for (event_name, event) in events.into_iter().flatten() {
        let event_context = format!("{context}.Events.{}", event_name.as_str().unwrap_or("?"));
        let event_properties = match event.get("Properties") {
            Some(value) => resolver.resolve(value, &event_context)?,
            None => Value::Mapping(Mapping::new()),
        };
        match event.get("Type").and_then(Value::as_str) {
            Some("HttpApi") => config
                .http_routes
                .push(http_route(&event_properties, &event_context)?),
            Some("SQS") => config
                .sqs_sources
                .push(sqs_source(&event_properties, &event_context)?),
            other => {
                tracing::info!(event = %event_context, kind = ?other, "event type not emulated; ignored")
            }
        }
    }
    Ok(config)
}

fn binary(
    resolver: &Resolver<'_>,
    context: &str,
    logical_id: &str,
    name: &str,
    resource: &Value,
    properties: &Mapping,
) -> Result<PathBuf, TemplateError> {
    let options = resolver.options;
    if let Some(path) = options
        .binaries
        .get(name)
        .or_else(|| options.binaries.get(logical_id))
    {
        return Ok(path.clone());
    }
    let metadata = resource.get("Metadata");
    let cargo_lambda = metadata
        .and_then(|m| m.get("BuildMethod"))
        .and_then(Value::as_str)
        == Some("rust-cargolambda");
    let declared = metadata
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"));
    let binary_name = match (cargo_lambda, declared, properties.get("CodeUri")) {
        (true, Some(binary), _) => scalar(
            &resolver.resolve(binary, context)?,
            &format!("{context}.Metadata.BuildProperties.Binary"),
        )?,
        (_, _, Some(code_uri)) => {
            let code_uri = scalar(
                &resolver.resolve(code_uri, context)?,
                &format!("{context}.CodeUri"),
            )?;
            let last = code_uri
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            if last.is_empty() || last == "." {
                logical_id.to_owned()
            } else {
                last
            }
        }
        _ => logical_id.to_owned(),
    };
    Ok(options.bin_dir.join(binary_name))
}

fn http_route(properties: &Value, context: &str) -> Result<HttpRoute, TemplateError> {
    let method = properties
        .get("Method")
        .map(|m| scalar(m, &format!("{context}.Method")))
        .transpose()?;
    let path = properties
        .get("Path")
        .map(|p| scalar(p, &format!("{context}.Path")))
        .transpose()?;
    let method = method.map_or_else(|| "ANY".to_owned(), |m| m.to_ascii_uppercase());
    let method = if method == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
        "ANY".to_owned()
    } else {
        method
    };
    match path {
        None => Ok(HttpRoute {
            method: "ANY".into(),
            path: "$default".into(),
        }),
        Some(path) if path == "$default" || path.starts_with('/') => Ok(HttpRoute { method, path }),
        Some(path) => Err(invalid(
            context,
            format!("Path {path:?} must start with '/' or be $default"),
        )),
    }
}

fn sqs_source(properties: &Value, context: &str) -> Result<SqsSource, TemplateError> {
    let queue = properties
        .get("Queue")
        .ok_or_else(|| invalid(context, "an SQS event needs Queue"))?;
    let queue = scalar(queue, &format!("{context}.Queue"))?;
    // An ARN (`arn:aws:sqs:region:account:name`) or a queue URL (`.../account/name`).
    let name = queue
        .rsplit([':', '/'])
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(context, "empty Queue"))?;
    let mut source = SqsSource::new(name);
    if let Some(size) = properties.get("BatchSize") {
        source.batch_size = number(size, &format!("{context}.BatchSize"), 1, 10_000)? as u32;
    }
    if let Some(window) = properties.get("MaximumBatchingWindowInSeconds") {
        source.maximum_batching_window = Duration::from_secs(number(
            window,
            &format!("{context}.MaximumBatchingWindowInSeconds"),
            0,
            300,
        )?);
    }
    if let Some(Value::Sequence(types)) = properties.get("FunctionResponseTypes") {
        source.report_batch_item_failures = types
            .iter()
            .any(|t| t.as_str() == Some("ReportBatchItemFailures"));
    }
    if let Some(enabled) = properties.get("Enabled") {
        source.enabled = enabled
            .as_bool()
            .ok_or_else(|| invalid(context, "Enabled must be a boolean"))?;
    }
    // CreateEventSourceMapping: "Maximum batch size of 10 exceeded without a batching window".
    if source.batch_size > 10 && source.maximum_batching_window.is_zero() {
        return Err(invalid(
            format!("{context}.BatchSize"),
            "a batch size above 10 needs MaximumBatchingWindowInSeconds of at least 1 (CreateEventSourceMapping refuses it)",
        ));
    }
    Ok(source)
}

/// A scalar as text (SAM allows numbers and booleans where strings are meant).
fn scalar(value: &Value, context: &str) -> Result<String, TemplateError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(invalid(
            context,
            format!("expected a scalar, found {other:?}"),
        )),
    }
}

fn number(value: &Value, context: &str, min: u64, max: u64) -> Result<u64, TemplateError> {
    let text = scalar(value, context)?;
    let n: u64 = text
        .parse()
        .map_err(|_| invalid(context, format!("{text:?} is not a whole number")))?;
    if !(min..=max).contains(&n) {
        return Err(invalid(context, format!("{n} is outside {min}..={max}")));
    }
    Ok(n)
}

/// Resolves intrinsic functions in the fields the emulator reads.
struct Resolver<'a> {
    options: &'a TemplateOptions,
    parameters: &'a Mapping,
    resources: &'a Mapping,
}

/// What a resource without Properties (or a template without Parameters) has.
static EMPTY: std::sync::LazyLock<Mapping> = std::sync::LazyLock::new(Mapping::new);

impl<'a> Resolver<'a> {
    fn new(template: &'a Value, options: &'a TemplateOptions) -> Result<Self, TemplateError> {
        let resources = template
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| invalid("template", "no Resources"))?;
        let parameters = template
            .get("Parameters")
            .and_then(Value::as_mapping)
            .unwrap_or(&EMPTY);
        Ok(Self {
            options,
            parameters,
            resources,
        })
    }

    /// The resources of type `kind`: logical ID, the resource, its Properties (unresolved).
    fn resources_of_type(
        &self,
        kind: &str,
    ) -> Result<Vec<(&'a str, &'a Value, &'a Mapping)>, TemplateError> {
        let mut found = Vec::new();
        for (logical_id, resource) in self.resources {
            let logical_id = logical_id
                .as_str()
                .ok_or_else(|| invalid("Resources", "a logical ID is not a string"))?;
            if resource.get("Type").and_then(Value::as_str) == Some(kind) {
                let properties = resource
                    .get("Properties")
                    .and_then(Value::as_mapping)
                    .unwrap_or(&EMPTY);
                found.push((logical_id, resource, properties));
            }
        }
        Ok(found)
    }

    fn resolve(&self, value: &Value, context: &str) -> Result<Value, TemplateError> {
        match value {
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                self.intrinsic(tag.trim_start_matches('!'), &tagged.value, context)
            }
            Value::Mapping(mapping) if mapping.len() == 1 => {
                let (key, inner) = mapping.iter().next().expect("one entry");
                match key.as_str() {
                    Some("Ref") => self.intrinsic("Ref", inner, context),
                    Some(long) if long.starts_with("Fn::") => {
                        self.intrinsic(&long[4..], inner, context)
                    }
                    _ => Ok(Value::Mapping(self.resolve_mapping(mapping, context)?)),
                }
            }
            Value::Mapping(mapping) => Ok(Value::Mapping(self.resolve_mapping(mapping, context)?)),
            Value::Sequence(items) => items
                .iter()
                .map(|i| self.resolve(i, context))
                .collect::<Result<_, _>>()
                .map(Value::Sequence),
            other => Ok(other.clone()),
        }
    }

    fn resolve_mapping(&self, mapping: &Mapping, context: &str) -> Result<Mapping, TemplateError> {
        mapping
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.resolve(v, context)?)))
            .collect()
    }

    fn intrinsic(
        &self,
        name: &str,
        argument: &Value,
        context: &str,
    ) -> Result<Value, TemplateError> {
        let text = |value: &Value| -> Result<String, TemplateError> {
            scalar(&self.resolve(value, context)?, context)
        };
        match name {
            "Ref" => self.reference(&text(argument)?, context).map(Value::String),
            "Sub" => {
                let (pattern, variables) = match argument {
                    Value::Sequence(items) if items.len() == 2 => {
                        (text(&items[0])?, self.resolve(&items[1], context)?)
                    }
                    other => (text(other)?, Value::Null),
                };
                self.substitute(&pattern, &variables, context)
                    .map(Value::String)
            }
            "GetAtt" => {
                let target = match argument {
                    Value::Sequence(items) => items
                        .iter()
                        .map(&text)
                        .collect::<Result<Vec<_>, _>>()?
                        .join("."),
                    other => text(other)?,
                };
                self.attribute(&target, context).map(Value::String)
            }
            "Join" => match argument {
                Value::Sequence(items) if items.len() == 2 => {
                    let separator = text(&items[0])?;
                    let Value::Sequence(parts) = self.resolve(&items[1], context)? else {
                        return Err(invalid(context, "Fn::Join needs a list"));
                    };
                    let parts = parts
                        .iter()
                        .map(|p| scalar(p, context))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Value::String(parts.join(&separator)))
                }
                _ => Err(invalid(context, "Fn::Join takes [separator, list]")),
            },
            "Select" => match argument {
                Value::Sequence(items) if items.len() == 2 => {
                    let index: usize = text(&items[0])?
                        .parse()
                        .map_err(|_| invalid(context, "Fn::Select index"))?;
                    let Value::Sequence(list) = self.resolve(&items[1], context)? else {
                        return Err(invalid(context, "Fn::Select needs a list"));
                    };
                    list.get(index)
                        .cloned()
                        .ok_or_else(|| invalid(context, "Fn::Select index out of range"))
                }
                _ => Err(invalid(context, "Fn::Select takes [index, list]")),
            },
            other => Err(invalid(
                context,
                format!("intrinsic function {other} is not supported"),
            )),
        }
    }

    fn reference(&self, target: &str, context: &str) -> Result<String, TemplateError> {
        let options = self.options;
        match target {
            "AWS::Region" => return Ok(options.region.clone()),
            "AWS::AccountId" => return Ok(ACCOUNT_ID.into()),
            "AWS::StackName" => return Ok(options.stack_name.clone()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            _ => {}
        }
        if let Some(parameter) = self.parameters.get(target) {
            if let Some(value) = options.parameters.get(target) {
                return Ok(value.clone());
            }
            let default = parameter
                .get("Default")
                .ok_or_else(|| invalid(context, format!("parameter {target} has no Default")))?;
            return scalar(default, context);
        }
        match self.resource_type(target) {
            Some("AWS::Serverless::Function" | "AWS::Lambda::Function") => {
                self.resource_name(target, "FunctionName", context)
            }
            Some("AWS::SQS::Queue") => {
                let name = self.resource_name(target, "QueueName", context)?;
                Ok(format!(
                    "http://sqs.{}.amazonaws.com/{ACCOUNT_ID}/{name}",
                    options.region
                ))
            }
            Some(_) => Ok(target.to_owned()),
            None => Err(invalid(context, format!("Ref to unknown {target}"))),
        }
    }

    fn attribute(&self, target: &str, context: &str) -> Result<String, TemplateError> {
        let (resource, attribute) = target
            .split_once('.')
            .ok_or_else(|| invalid(context, format!("GetAtt {target}")))?;
        let region = &self.options.region;
        match (self.resource_type(resource), attribute) {
            (Some("AWS::SQS::Queue"), "Arn") => Ok(queue_arn(
                region,
                &self.resource_name(resource, "QueueName", context)?,
            )),
            (Some("AWS::SQS::Queue"), "QueueName") => {
                self.resource_name(resource, "QueueName", context)
            }
            (Some("AWS::SQS::Queue"), "QueueUrl") => self.reference(resource, context),
            (Some("AWS::Serverless::Function" | "AWS::Lambda::Function"), "Arn") => {
                Ok(function_arn(
                    region,
                    &self.resource_name(resource, "FunctionName", context)?,
                ))
            }
            _ => Err(invalid(
                context,
                format!("GetAtt {target} is not supported"),
            )),
        }
    }

    fn resource_type(&self, logical_id: &str) -> Option<&str> {
        self.resources.get(logical_id)?.get("Type")?.as_str()
    }

    /// A resource's explicit name property, else its logical ID.
    fn resource_name(
        &self,
        logical_id: &str,
        property: &str,
        context: &str,
    ) -> Result<String, TemplateError> {
        match self
            .resources
            .get(logical_id)
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get(property))
        {
            Some(value) => scalar(&self.resolve(value, context)?, context),
            None => Ok(logical_id.to_owned()),
        }
    }

    /// `Fn::Sub`: `${Name}` from the variable map, else a Ref; `${Res.Attr}` a GetAtt; `${!x}`
    /// the literal `${x}`.
    fn substitute(
        &self,
        pattern: &str,
        variables: &Value,
        context: &str,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| invalid(context, format!("unclosed ${{ in {pattern:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(&scalar(value, context)?);
            } else if name.contains('.') {
                out.push_str(&self.attribute(name, context)?);
            } else {
                out.push_str(&self.reference(name, context)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Parses `NAME=VALUE` (CLI overrides).
pub fn parse_assignment(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {text:?}"))?;
    if name.is_empty() {
        return Err(format!("empty name in {text:?}"));
    }
    Ok((name.to_owned(), value.to_owned()))
}
