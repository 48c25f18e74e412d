//! Reading an MLflow request the way MLflow's server does: GET fields from
//! the query (a repeated key is a list), POST/PATCH/DELETE fields from a
//! JSON body; numbers may come as strings, doubles as `"NaN"`,
//! `"Infinity"`, `"-Infinity"`. Each getter names the field it refuses.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use super::error::MlflowError;

/// Largest JSON body (MLflow's request limit for a batch).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The request's fields, from the query and the body together.
pub struct Fields(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = MlflowError;

    async fn from_request(req: Request, _state: &S) -> Result<Fields, MlflowError> {
        let mut fields = Map::new();
        if let Some(query) = req.uri().query() {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
                .map_err(|e| MlflowError::invalid(format!("malformed query string: {e}")))?;
            for (key, value) in pairs {
                match fields.get_mut(&key) {
                    Some(Value::Array(list)) => list.push(Value::String(value)),
                    Some(first) => {
                        let first = first.take();
                        fields.insert(key, Value::Array(vec![first, Value::String(value)]));
                    }
                    None => {
                        fields.insert(key, Value::String(value));
                    }
                }
            }
        }
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| {
                MlflowError::invalid(format!(
                    "the request body is over the {MAX_BODY_BYTES}-byte limit (or could not be read)"
                ))
            })?;
        if !body.iter().all(u8::is_ascii_whitespace) {
            match parse_body(&body)? {
                Value::Object(map) => fields.extend(map),
                _ => {
                    return Err(MlflowError::invalid(
                        "the request body must be a JSON object",
                    ))
                }
            }
        }
        Ok(Fields(fields))
    }
}

fn parse_body(body: &Bytes) -> Result<Value, MlflowError> {
    serde_json::from_slice(body).map_err(|e| MlflowError {
        status: axum::http::StatusCode::BAD_REQUEST,
        error_code: super::error::BAD_REQUEST,
        message: format!("malformed JSON body: {e}"),
    })
}

impl Fields {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A string field; a number is taken as its text.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, MlflowError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(Value::Array(list)) if list.len() == 1 => match &list[0] {
                Value::String(s) => Ok(Some(s.clone())),
                _ => Err(MlflowError::invalid(format!("'{name}' must be a string"))),
            },
            Some(_) => Err(MlflowError::invalid(format!("'{name}' must be a string"))),
        }
    }

    pub fn str(&self, name: &str) -> Result<String, MlflowError> {
        self.opt_str(name)?
            .ok_or_else(|| MlflowError::missing(name))
    }

    /// An int64, as a number or a string of digits.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, MlflowError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => int(v).map(Some).ok_or_else(|| {
                MlflowError::invalid(format!("'{name}' must be an integer, got {v}"))
            }),
        }
    }

    /// A boolean, as `true`/`false` or their text.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, MlflowError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => match self.opt_str(name)?.as_deref().map(str::trim) {
                Some("true" | "True" | "1") => Ok(Some(true)),
                Some("false" | "False" | "0") => Ok(Some(false)),
                _ => Err(MlflowError::invalid(format!(
                    "'{name}' must be true or false, got {v}"
                ))),
            },
        }
    }

    /// A list of strings (a repeated query key, a JSON array, or one value).
    pub fn strings(&self, name: &str) -> Result<Vec<String>, MlflowError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(MlflowError::invalid(format!(
                        "'{name}' must be a list of strings"
                    ))),
                })
                .collect(),
            Some(_) => Ok(self.opt_str(name)?.into_iter().collect()),
        }
    }

    /// A list of objects (`tags`, `metrics`, `params`).
    pub fn objects(&self, name: &str) -> Result<Vec<&Map<String, Value>>, MlflowError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(map) => Ok(map),
                    _ => Err(MlflowError::invalid(format!(
                        "'{name}[{i}]' must be an object"
                    ))),
                })
                .collect(),
            Some(_) => Err(MlflowError::invalid(format!("'{name}' must be a list"))),
        }
    }

    /// The run id: `run_id`, else `run_uuid` (clients send both).
    pub fn run_id(&self) -> Result<i64, MlflowError> {
        let text = match self.opt_str("run_id")? {
            Some(id) if !id.is_empty() => id,
            _ => self.str("run_uuid")?,
        };
        parse_run_id(&text)
    }
}

/// A run id from the wire: a Trainyard job id.
pub fn parse_run_id(text: &str) -> Result<i64, MlflowError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            MlflowError::not_found(format!(
                "Run '{}' not found",
                text.chars().take(64).collect::<String>()
            ))
        })
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A double: a number, a numeric string, or MLflow's `"NaN"`,
/// `"Infinity"`, `"-Infinity"`.
pub fn double(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.trim() {
            "NaN" | "nan" => Some(f64::NAN),
            "Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// A field of an object in a list (`metrics[3].value`).
pub struct Item<'a> {
    pub list: &'a str,
    pub index: usize,
    pub map: &'a Map<String, Value>,
}

impl Item<'_> {
    fn name(&self, field: &str) -> String {
        format!("{}[{}].{field}", self.list, self.index)
    }

    pub fn str(&self, field: &str) -> Result<String, MlflowError> {
        match self.map.get(field) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            None | Some(Value::Null) => Err(MlflowError::missing(&self.name(field))),
            Some(_) => Err(MlflowError::invalid(format!(
                "'{}' must be a string",
                self.name(field)
            ))),
        }
    }

    /// A string that may be absent (a tag's or param's value defaults to "").
    pub fn str_or_empty(&self, field: &str) -> Result<String, MlflowError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(String::new()),
            _ => self.str(field),
        }
    }

    pub fn i64(&self, field: &str) -> Result<Option<i64>, MlflowError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => int(v).map(Some).ok_or_else(|| {
                MlflowError::invalid(format!(
                    "'{}' must be an integer, got {v}",
                    self.name(field)
                ))
            }),
        }
    }

    pub fn double(&self, field: &str) -> Result<f64, MlflowError> {
        match self.map.get(field) {
            None | Some(Value::Null) => Err(MlflowError::missing(&self.name(field))),
            Some(v) => double(v).ok_or_else(|| {
                MlflowError::invalid(format!("'{}' must be a number, got {v}", self.name(field)))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_come_as_numbers_strings_or_mlflow_words() {
        assert_eq!(double(&serde_json::json!(1.5)), Some(1.5));
        assert_eq!(double(&serde_json::json!("1.25")), Some(1.25));
        assert!(double(&serde_json::json!("NaN")).unwrap().is_nan());
        assert_eq!(double(&serde_json::json!("Infinity")), Some(f64::INFINITY));
        assert_eq!(
            double(&serde_json::json!("-Infinity")),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(double(&serde_json::json!("abc")), None);
        assert_eq!(double(&serde_json::json!([1])), None);
    }

    #[test]
    fn run_ids_are_job_ids() {
        assert_eq!(parse_run_id("42").unwrap(), 42);
        assert_eq!(
            parse_run_id("0").unwrap_err().error_code,
            super::super::error::RESOURCE_DOES_NOT_EXIST
        );
        assert!(parse_run_id("9f2c3a").is_err());
        assert!(parse_run_id("").is_err());
    }
}
