//! Config errors carry a 1-based position and the field path, so the browser
//! editor can underline each one and the server can print it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One problem in an experiment config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigError {
    pub message: String,
    /// Dotted key the problem is about (`optimizer.lr`), when there is one.
    #[serde(default)]
    pub field: Option<String>,
    /// 1-based line.
    #[serde(default)]
    pub line: Option<u32>,
    /// 1-based column, in characters.
    #[serde(default)]
    pub column: Option<u32>,
}

impl ConfigError {
    /// An error about no place in particular (the sweep as a whole).
    pub fn general(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            field: None,
            line: None,
            column: None,
        }
    }

    /// An error at a position, optionally about a field.
    pub fn at(message: impl Into<String>, field: Option<&str>, pos: Pos) -> Self {
        ConfigError {
            message: message.into(),
            field: field.map(str::to_string),
            line: Some(pos.line),
            column: Some(pos.column),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "line {line}, column {column}: ")?,
            (Some(line), None) => write!(f, "line {line}: ")?,
            _ => {}
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one config, in source order where known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

impl fmt::Display for ConfigErrors {
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

impl std::error::Error for ConfigErrors {}

/// A 1-based source position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    /// The start of the document.
    pub const START: Pos = Pos { line: 1, column: 1 };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_puts_position_then_field_then_message() {
        let e = ConfigError::at(
            "must be a number",
            Some("optimizer.lr"),
            Pos { line: 3, column: 7 },
        );
        assert_eq!(
            e.to_string(),
            "line 3, column 7: optimizer.lr: must be a number"
        );
        let all = ConfigErrors(vec![e.clone(), ConfigError::general("too big")]);
        assert_eq!(
            all.to_string(),
            "line 3, column 7: optimizer.lr: must be a number\ntoo big"
        );
    }
}
