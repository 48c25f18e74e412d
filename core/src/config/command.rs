//! Shell-style splitting of a `command:` string into argv. Nothing is
//! executed and nothing is expanded: `$HOME` and `{config}` stay as written.

/// Why a command line could not be turned into argv.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

/// Splits a command line (a config's `command:` string or the server's
/// `--default-command`) into argv; an empty command is an error.
pub fn split_command(s: &str) -> Result<Vec<String>, CommandError> {
    let argv = split(s).map_err(CommandError)?;
    if argv.first().is_none_or(String::is_empty) {
        return Err(CommandError(
            "the command is empty; give a program, e.g. `python train.py --config {config}`".into(),
        ));
    }
    Ok(argv)
}

/// Splits like a POSIX shell: whitespace separates words, `'…'` is literal,
/// `"…"` allows `\"`, `\\`, `\$` and `` \` ``, a bare backslash escapes the
/// next character.
pub(crate) fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("a single quote (') is not closed".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("a double quote (\") is not closed".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("a double quote (\") is not closed".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(c) => word.push(c),
                    None => return Err("the command ends with a lone backslash".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::{split, split_command};

    #[test]
    fn quotes_and_escapes_group_words() {
        assert_eq!(
            split(r#"python main.py --config {config} --note "two words" 'a "b"' c\ d"#),
            Ok(vec![
                "python".to_string(),
                "main.py".into(),
                "--config".into(),
                "{config}".into(),
                "--note".into(),
                "two words".into(),
                "a \"b\"".into(),
                "c d".into(),
            ])
        );
        assert_eq!(split(r#""" x"#), Ok(vec![String::new(), "x".into()]));
        assert_eq!(split(r#""a\"b\n""#), Ok(vec!["a\"b\\n".to_string()]));
    }

    #[test]
    fn empty_commands_are_refused() {
        assert!(split_command("  ").is_err());
        assert!(split_command("''").is_err());
        assert_eq!(split_command("python x.py").map(|a| a.len()), Ok(2));
    }

    #[test]
    fn unclosed_quotes_are_errors() {
        assert!(split("echo 'x").is_err());
        assert!(split("echo \"x").is_err());
        assert!(split("echo x\\").is_err());
    }
}
