//! Typed values under the YAML 1.2 core schema, so tests and the UI can compare
//! what a config means rather than how it was spelled.

use super::tree::{Kind, Node, Scalar, Style};

/// A config value as the YAML 1.2 core schema types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    String(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    pub(crate) fn of(node: &Node) -> Value {
        match &node.kind {
            Kind::Scalar(s) => scalar_value(s),
            Kind::Seq(items) => Value::List(items.iter().map(Value::of).collect()),
            Kind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|e| (e.key.text.clone(), Value::of(&e.value)))
                    .collect(),
            ),
        }
    }
}

fn scalar_value(s: &Scalar) -> Value {
    if s.style == Style::Quoted {
        return Value::String(s.text.clone());
    }
    if s.is_null() {
        return Value::Null;
    }
    let t = s.text.as_str();
    match t {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(t) {
        return Value::Int(i);
    }
    if let Some(f) = parse_float(t) {
        return Value::Float(f);
    }
    Value::String(t.to_string())
}

fn parse_int(t: &str) -> Option<i128> {
    if let Some(oct) = t.strip_prefix("0o") {
        return i128::from_str_radix(oct, 8).ok().filter(|_| digits(oct, 8));
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return i128::from_str_radix(hex, 16)
            .ok()
            .filter(|_| digits(hex, 16));
    }
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    if !digits(body, 10) {
        return None;
    }
    t.parse().ok()
}

fn digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_digit(radix))
}

fn parse_float(t: &str) -> Option<f64> {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Some(if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // [0-9]* ( . [0-9]* )? ( [eE] [-+]? [0-9]+ )? with at least one mantissa digit.
    crate::decimal::parse_decimal(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(t: &str) -> Value {
        scalar_value(&Scalar::plain(t))
    }

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        assert_eq!(plain("42"), Value::Int(42));
        assert_eq!(plain("-7"), Value::Int(-7));
        assert_eq!(plain("0x1f"), Value::Int(31));
        assert_eq!(plain("0.01"), Value::Float(0.01));
        assert_eq!(plain("1e-3"), Value::Float(0.001));
        assert_eq!(plain(".5"), Value::Float(0.5));
        assert_eq!(plain("-.inf"), Value::Float(f64::NEG_INFINITY));
        assert_eq!(plain("true"), Value::Bool(true));
        assert_eq!(plain("~"), Value::Null);
        assert_eq!(plain("adam"), Value::String("adam".into()));
        assert_eq!(plain("1.2.3"), Value::String("1.2.3".into()));
        assert_eq!(plain("e5"), Value::String("e5".into()));
        assert_eq!(plain("."), Value::String(".".into()));
    }

    #[test]
    fn quoted_scalars_are_strings() {
        let s = Scalar::quoted("42");
        assert_eq!(scalar_value(&s), Value::String("42".into()));
    }
}
