//! Field values: typed as JSON types them, coerced to a field's value type,
//! written as one argv entry.

use super::ValueType;
use crate::config::tree::{Node, Scalar};
use crate::config::{Pos, Value};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A value a form or a script sends for a field; a list is a sweep. In
/// JSON it is the plain value (`3`, `"x"`, `[1, 2]`); see the `Deserialize`
/// impl below.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<FieldValue>),
}

impl FieldValue {
    /// The text of one argv entry (`true`/`false` for booleans).
    pub fn arg(&self) -> String {
        match self {
            FieldValue::Null => String::new(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Int(i) => i.to_string(),
            FieldValue::Float(f) => f.to_string(),
            FieldValue::Text(s) => s.clone(),
            FieldValue::List(items) => items
                .iter()
                .map(FieldValue::arg)
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// Null, an empty string or an empty list.
    pub fn is_empty(&self) -> bool {
        match self {
            FieldValue::Null => true,
            FieldValue::Text(s) => s.trim().is_empty(),
            FieldValue::List(items) => items.iter().all(FieldValue::is_empty),
            _ => false,
        }
    }

    /// The number, for range checks.
    pub fn number(&self) -> Option<f64> {
        match self {
            FieldValue::Int(i) => Some(*i as f64),
            FieldValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// This value as a config node: numbers, booleans and null plain, text
    /// quoted (never read as a list, a call or a number), a list as a
    /// sequence. The tree is what the YAML [`emit`](crate::config::emit)
    /// writes would parse back to, without a parse.
    pub(crate) fn node(&self) -> Node {
        let scalar = match self {
            FieldValue::Null => Scalar::plain("null"),
            FieldValue::Bool(_) | FieldValue::Int(_) => Scalar::plain(self.arg()),
            FieldValue::Float(f) if f.is_finite() => {
                let s = f.to_string();
                // `1` would be read as an int.
                Scalar::plain(if s.contains(['.', 'e', 'E']) {
                    s
                } else {
                    format!("{s}.0")
                })
            }
            FieldValue::Float(_) => Scalar::quoted(self.arg()),
            FieldValue::Text(s) => Scalar::quoted(s.clone()),
            FieldValue::List(items) => {
                return Node::seq(items.iter().map(FieldValue::node).collect())
            }
        };
        Node::scalar(scalar, Pos::START)
    }

    /// The value a catalog's YAML gave (`default: 3`).
    pub(crate) fn from_config(v: &Value) -> FieldValue {
        match v {
            Value::Null => FieldValue::Null,
            Value::Bool(b) => FieldValue::Bool(*b),
            Value::Int(i) => match i64::try_from(*i) {
                Ok(i) => FieldValue::Int(i),
                Err(_) => FieldValue::Text(i.to_string()),
            },
            Value::Float(f) => FieldValue::Float(*f),
            Value::String(s) => FieldValue::Text(s.clone()),
            Value::List(items) => FieldValue::List(items.iter().map(Self::from_config).collect()),
            Value::Map(_) => FieldValue::Text(String::new()),
        }
    }

    /// This value as `ty`, or why not. Text converts when it reads as the
    /// type (`"32"` for an int), as a form's inputs send it.
    pub fn coerce(&self, ty: ValueType) -> Result<FieldValue, String> {
        let text = match self {
            FieldValue::Text(s) => Some(s.trim()),
            _ => None,
        };
        let bad = |what: &str| Err(format!("expected {what}, got {}", self.describe()));
        match ty {
            ValueType::Str => match self {
                FieldValue::Text(s) => Ok(FieldValue::Text(s.clone())),
                FieldValue::Bool(_) | FieldValue::Int(_) | FieldValue::Float(_) => {
                    Ok(FieldValue::Text(self.arg()))
                }
                _ => bad("text"),
            },
            ValueType::Int => match (self, text) {
                (FieldValue::Int(i), _) => Ok(FieldValue::Int(*i)),
                (FieldValue::Float(f), _) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                    Ok(FieldValue::Int(*f as i64))
                }
                (_, Some(t)) => t
                    .parse()
                    .map(FieldValue::Int)
                    .or_else(|_| bad("a whole number")),
                _ => bad("a whole number"),
            },
            ValueType::Float => match (self, text) {
                (FieldValue::Int(i), _) => Ok(FieldValue::Float(*i as f64)),
                (FieldValue::Float(f), _) if f.is_finite() => Ok(FieldValue::Float(*f)),
                (_, Some(t)) => match crate::decimal::parse_f64(t) {
                    Some(f) if f.is_finite() => Ok(FieldValue::Float(f)),
                    _ => bad("a number"),
                },
                _ => bad("a number"),
            },
            ValueType::Bool => match (self, text) {
                (FieldValue::Bool(b), _) => Ok(FieldValue::Bool(*b)),
                (_, Some("true" | "True" | "TRUE")) => Ok(FieldValue::Bool(true)),
                (_, Some("false" | "False" | "FALSE")) => Ok(FieldValue::Bool(false)),
                _ => bad("true or false"),
            },
        }
    }

    fn describe(&self) -> String {
        match self {
            FieldValue::Null => "nothing".into(),
            FieldValue::Text(s) => format!("{s:?}"),
            FieldValue::List(_) => format!("the list [{}]", self.arg()),
            _ => self.arg(),
        }
    }
}

/// Read by the JSON type, as `#[serde(untagged)]` would (an integer beyond
/// `i64` is a float), without serde's buffering of the value for each
/// variant tried: that layer is a second reader in every wasm page that
/// reads a field value, and its error only said no variant matched.
impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldValueVisitor)
    }
}

struct FieldValueVisitor;

impl<'de> Visitor<'de> for FieldValueVisitor {
    type Value = FieldValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null, true or false, a number, text, or a list of those")
    }

    fn visit_unit<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<FieldValue, E> {
        Ok(FieldValue::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<FieldValue, D::Error> {
        FieldValue::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<FieldValue, E> {
        Ok(FieldValue::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldValue, E> {
        Ok(FieldValue::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldValue, E> {
        Ok(i64::try_from(v).map_or(FieldValue::Float(v as f64), FieldValue::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<FieldValue, E> {
        Ok(FieldValue::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<FieldValue, E> {
        Ok(FieldValue::Text(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FieldValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(FieldValue::List(items))
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arg())
    }
}

/// Why a launch was refused: about one field, or the launch as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchError {
    #[serde(default)]
    pub field: Option<String>,
    pub message: String,
}

impl LaunchError {
    pub fn field(field: &str, message: impl Into<String>) -> LaunchError {
        LaunchError {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    pub fn general(message: impl Into<String>) -> LaunchError {
        LaunchError {
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Every problem of one launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchErrors(pub Vec<LaunchError>);

impl fmt::Display for LaunchErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LaunchErrors {}

impl From<LaunchError> for LaunchErrors {
    fn from(e: LaunchError) -> Self {
        LaunchErrors(vec![e])
    }
}
