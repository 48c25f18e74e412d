//! MLflow's search filter language, the part clients use:
//! `metrics.val_acc > 0.9 and params.lr = '0.01'`, ``tags.`mlflow.user` != 'x'``,
//! `attributes.status IN ('FINISHED', 'FAILED')`, `run_name LIKE 'res%'`.
//! Conditions joined by AND; operators `= != < <= > >= LIKE ILIKE IN NOT IN`.
//! Pure: parsed once, matched against anything that implements [`Subject`].

use std::fmt;

/// A value a condition compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
}

/// What a filter can ask of a run or an experiment.
pub trait Subject {
    /// `None`: the subject has no such attribute value (e.g. no end time).
    fn attribute(&self, name: &str) -> Option<Value>;
    fn known_attribute(&self, name: &str) -> bool;
    fn tag(&self, key: &str) -> Option<String>;
    fn param(&self, key: &str) -> Option<String>;
    fn metric(&self, key: &str) -> Option<f64>;
}

/// Which kind of key a condition names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Metric,
    Param,
    Tag,
    Attribute,
}

/// `metrics.loss`, `params.lr`, ``tags.`a.b` ``, `attributes.status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub kind: KeyKind,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    key: Key,
    op: Op,
    values: Vec<Value>,
}

/// A parsed filter: every condition must hold. Empty matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    conditions: Vec<Condition>,
}

/// Why a filter or an order could not be parsed or applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError(pub String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Number(f64),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '\'' | '"' | '`' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(FilterError(format!(
                                "unterminated {quote}…{quote} quote in the filter"
                            )))
                        }
                        Some(&ch) if ch == quote => {
                            // A doubled quote stands for itself.
                            if chars.get(i + 1) == Some(&quote) {
                                s.push(quote);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                if quote == '`' {
                    out.push(Token::Word(format!("`{s}`")));
                } else {
                    out.push(Token::Quoted(s));
                }
            }
            '=' => {
                out.push(Token::Op("="));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                out.push(Token::Op(match (c, eq) {
                    ('<', true) => "<=",
                    ('<', false) => "<",
                    ('>', true) => ">=",
                    _ => ">",
                }));
                i += if eq { 2 } else { 1 };
            }
            _ if c.is_ascii_digit() || ((c == '-' || c == '.') && i + 1 < chars.len()) => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '-' | '+'))
                {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                match s.parse::<f64>() {
                    Ok(n) => out.push(Token::Number(n)),
                    Err(_) => return Err(FilterError(format!("{s:?} is not a number"))),
                }
            }
            _ if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len() {
                    let ch = chars[i];
                    if ch.is_alphanumeric() || matches!(ch, '_' | '.' | '-' | '/' | ':') {
                        i += 1;
                    } else if ch == '`' || ch == '"' {
                        // `tags.`a.b``: a quoted name after the prefix.
                        let quote = ch;
                        let end =
                            chars[i + 1..]
                                .iter()
                                .position(|&x| x == quote)
                                .ok_or_else(|| {
                                    FilterError(format!(
                                        "unterminated {quote}…{quote} quote in the filter"
                                    ))
                                })?;
                        i += end + 2;
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            _ => return Err(FilterError(format!("unexpected {c:?} in the filter"))),
        }
    }
    Ok(out)
}

/// Parses `metrics.x`, `params.x`, `tags.x`, `attributes.x` (and MLflow's
/// other spellings: `metric.`, `param.`, `tag.`, `attribute.`, `run.`);
/// a bare name is an attribute.
pub fn parse_key(word: &str) -> Result<Key, FilterError> {
    let unquote = |s: &str| -> String {
        let s = s.trim();
        for q in ['`', '"'] {
            if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
                return s[1..s.len() - 1].to_string();
            }
        }
        s.to_string()
    };
    let whole = unquote(word);
    let (prefix, name) = match word.split_once('.') {
        Some((prefix, rest)) if !prefix.starts_with(['`', '"']) => (prefix, unquote(rest)),
        _ => ("attributes", whole),
    };
    let kind = match prefix.to_ascii_lowercase().as_str() {
        "metric" | "metrics" => KeyKind::Metric,
        "param" | "params" | "parameter" | "parameters" => KeyKind::Param,
        "tag" | "tags" => KeyKind::Tag,
        "attribute" | "attributes" | "attr" | "run" => KeyKind::Attribute,
        other => {
            return Err(FilterError(format!(
                "invalid key {word:?}: {other:?} is not metrics, params, tags or attributes"
            )))
        }
    };
    if name.is_empty() {
        return Err(FilterError(format!(
            "invalid key {word:?}: no name after the prefix"
        )));
    }
    Ok(Key { kind, name })
}

impl Filter {
    /// Parses `text`; blank is the filter that matches everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = tokenize(text)?;
        let mut conditions = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            if !conditions.is_empty() {
                match &tokens[i] {
                    Token::Word(w) if w.eq_ignore_ascii_case("and") => i += 1,
                    Token::Word(w) if w.eq_ignore_ascii_case("or") => {
                        return Err(FilterError(
                            "OR is not supported in search filters (MLflow's neither); use AND"
                                .into(),
                        ))
                    }
                    other => {
                        return Err(FilterError(format!(
                            "expected AND between conditions, found {}",
                            describe(other)
                        )))
                    }
                }
            }
            let key = match tokens.get(i) {
                Some(Token::Word(w)) => parse_key(w)?,
                Some(other) => {
                    return Err(FilterError(format!(
                        "expected a key, found {}",
                        describe(other)
                    )))
                }
                None => return Err(FilterError("the filter ends after AND".into())),
            };
            i += 1;
            let op = match tokens.get(i) {
                Some(Token::Op(op)) => match *op {
                    "=" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    _ => Op::Ge,
                },
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("like") => Op::Like,
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("ilike") => Op::ILike,
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => match tokens.get(i + 1) {
                    Some(Token::Word(w2)) if w2.eq_ignore_ascii_case("in") => {
                        i += 1;
                        Op::NotIn
                    }
                    _ => return Err(FilterError("expected IN after NOT".into())),
                },
                Some(other) => {
                    return Err(FilterError(format!(
                        "expected a comparison after {:?}, found {}",
                        key.name,
                        describe(other)
                    )))
                }
                None => {
                    return Err(FilterError(format!(
                        "expected a comparison after {:?}",
                        key.name
                    )))
                }
            };
            i += 1;
            let mut values = Vec::new();
            if matches!(op, Op::In | Op::NotIn) {
                if tokens.get(i) != Some(&Token::Open) {
                    return Err(FilterError("expected ( after IN".into()));
                }
                i += 1;
                loop {
                    match tokens.get(i) {
                        Some(Token::Quoted(s)) => values.push(Value::Text(s.clone())),
                        Some(Token::Number(n)) => values.push(Value::Number(*n)),
                        _ => return Err(FilterError("expected a quoted value in IN (...)".into())),
                    }
                    i += 1;
                    match tokens.get(i) {
                        Some(Token::Comma) => i += 1,
                        Some(Token::Close) => {
                            i += 1;
                            break;
                        }
                        _ => return Err(FilterError("expected , or ) in IN (...)".into())),
                    }
                }
            } else {
                match tokens.get(i) {
                    Some(Token::Quoted(s)) => values.push(Value::Text(s.clone())),
                    Some(Token::Number(n)) => values.push(Value::Number(*n)),
                    Some(other) => {
                        return Err(FilterError(format!(
                            "expected a value after the comparison on {:?}, found {}",
                            key.name,
                            describe(other)
                        )))
                    }
                    None => {
                        return Err(FilterError(format!(
                            "expected a value after the comparison on {:?}",
                            key.name
                        )))
                    }
                }
                i += 1;
            }
            check_condition(&key, op, &values)?;
            conditions.push(Condition { key, op, values });
        }
        Ok(Filter { conditions })
    }

    /// Whether `subject` passes every condition. An unknown attribute is an
    /// error (as in MLflow); a missing metric, param or tag fails the
    /// condition.
    pub fn matches(&self, subject: &dyn Subject) -> Result<bool, FilterError> {
        for c in &self.conditions {
            let value = match c.key.kind {
                KeyKind::Metric => subject.metric(&c.key.name).map(Value::Number),
                KeyKind::Param => subject.param(&c.key.name).map(Value::Text),
                KeyKind::Tag => subject.tag(&c.key.name).map(Value::Text),
                KeyKind::Attribute => {
                    if !subject.known_attribute(&c.key.name) {
                        return Err(FilterError(format!(
                            "invalid attribute key {:?}",
                            c.key.name
                        )));
                    }
                    subject.attribute(&c.key.name)
                }
            };
            let Some(value) = value else {
                return Ok(false);
            };
            if !holds(&value, c.op, &c.values) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn describe(t: &Token) -> String {
    match t {
        Token::Word(w) => format!("{w:?}"),
        Token::Quoted(s) => format!("'{s}'"),
        Token::Number(n) => n.to_string(),
        Token::Op(op) => (*op).to_string(),
        Token::Open => "(".into(),
        Token::Close => ")".into(),
        Token::Comma => ",".into(),
    }
}

fn check_condition(key: &Key, op: Op, values: &[Value]) -> Result<(), FilterError> {
    let numeric = values.iter().all(|v| matches!(v, Value::Number(_)));
    match key.kind {
        KeyKind::Metric => {
            if !numeric || matches!(op, Op::Like | Op::ILike | Op::In | Op::NotIn) {
                return Err(FilterError(format!(
                    "metrics.{} compares with a number using = != < <= > >=",
                    key.name
                )));
            }
        }
        KeyKind::Param | KeyKind::Tag => {
            if numeric || matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) {
                return Err(FilterError(format!(
                    "{} {:?} compares with a quoted string using = != LIKE ILIKE IN",
                    if key.kind == KeyKind::Param {
                        "param"
                    } else {
                        "tag"
                    },
                    key.name
                )));
            }
        }
        KeyKind::Attribute => {}
    }
    Ok(())
}

fn holds(actual: &Value, op: Op, values: &[Value]) -> bool {
    match op {
        Op::In => values.iter().any(|v| equal(actual, v)),
        Op::NotIn => !values.iter().any(|v| equal(actual, v)),
        Op::Like | Op::ILike => match (actual, &values[0]) {
            (Value::Text(a), Value::Text(pattern)) => like(a, pattern, op == Op::ILike),
            _ => false,
        },
        _ => {
            let ordering = match (actual, &values[0]) {
                (Value::Number(a), Value::Number(b)) => a.partial_cmp(b),
                (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
                (Value::Number(a), Value::Text(b)) => {
                    b.parse::<f64>().ok().and_then(|b| a.partial_cmp(&b))
                }
                (Value::Text(a), Value::Number(b)) => {
                    a.parse::<f64>().ok().and_then(|a| a.partial_cmp(b))
                }
            };
            let Some(o) = ordering else {
                return op == Op::Ne;
            };
            match op {
                Op::Eq => o.is_eq(),
                Op::Ne => o.is_ne(),
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                _ => o.is_ge(),
            }
        }
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y,
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Number(x), Value::Text(y)) | (Value::Text(y), Value::Number(x)) => {
            y.parse::<f64>().is_ok_and(|y| y == *x)
        }
    }
}

/// SQL LIKE: `%` any run, `_` one character.
fn like(text: &str, pattern: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| {
        if ignore_case {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    };
    let t: Vec<char> = fold(text).chars().collect();
    let p: Vec<char> = fold(pattern).chars().collect();
    // Iterative matching with backtracking on the last `%`.
    let (mut ti, mut pi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    pi == p.len()
}

/// One `order_by` clause: `metrics.loss ASC`, `attributes.start_time DESC`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub key: Key,
    pub ascending: bool,
}

/// Parses an `order_by` clause.
pub fn parse_order_by(text: &str) -> Result<OrderBy, FilterError> {
    let tokens = tokenize(text)?;
    let (word, rest) = match tokens.split_first() {
        Some((Token::Word(w), rest)) => (w, rest),
        _ => {
            return Err(FilterError(format!(
                "invalid order_by {text:?}: expected a key"
            )))
        }
    };
    let key = parse_key(word)?;
    let ascending = match rest {
        [] => true,
        [Token::Word(dir)] if dir.eq_ignore_ascii_case("asc") => true,
        [Token::Word(dir)] if dir.eq_ignore_ascii_case("desc") => false,
        _ => {
            return Err(FilterError(format!(
                "invalid order_by {text:?}: expected `<key> [ASC|DESC]`"
            )))
        }
    };
    Ok(OrderBy { key, ascending })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Run {
        attrs: HashMap<&'static str, Value>,
        tags: HashMap<&'static str, &'static str>,
        params: HashMap<&'static str, &'static str>,
        metrics: HashMap<&'static str, f64>,
    }

    impl Subject for Run {
        fn attribute(&self, name: &str) -> Option<Value> {
            self.attrs.get(name).cloned()
        }
        fn known_attribute(&self, name: &str) -> bool {
            matches!(name, "status" | "run_name" | "start_time" | "end_time")
        }
        fn tag(&self, key: &str) -> Option<String> {
            self.tags.get(key).map(|s| s.to_string())
        }
        fn param(&self, key: &str) -> Option<String> {
            self.params.get(key).map(|s| s.to_string())
        }
        fn metric(&self, key: &str) -> Option<f64> {
            self.metrics.get(key).copied()
        }
    }

    fn run() -> Run {
        Run {
            attrs: HashMap::from([
                ("status", Value::Text("FINISHED".into())),
                ("run_name", Value::Text("resnet-lr0.01".into())),
                ("start_time", Value::Number(1000.0)),
            ]),
            tags: HashMap::from([("mlflow.user", "ana"), ("stage", "dev")]),
            params: HashMap::from([("lr", "0.01")]),
            metrics: HashMap::from([("val_acc", 0.93), ("loss", 0.2)]),
        }
    }

    fn check(filter: &str) -> bool {
        Filter::parse(filter).unwrap().matches(&run()).unwrap()
    }

    #[test]
    fn the_issue_example_and_mlflow_spellings() {
        assert!(check("metrics.val_acc > 0.9 and params.lr = '0.01'"));
        assert!(!check("metrics.val_acc > 0.95 and params.lr = '0.01'"));
        assert!(check("attributes.status = 'FINISHED'"));
        assert!(check("tags.`mlflow.user` != 'bob'"));
        assert!(check("tag.\"mlflow.user\" = 'ana'"));
        assert!(check("run_name LIKE 'res%'"));
        assert!(check("attributes.run_name ILIKE 'RES%0.01'"));
        assert!(!check("attributes.run_name LIKE 'RES%'"));
        assert!(check("attributes.status IN ('FINISHED', 'FAILED')"));
        assert!(check("attributes.status NOT IN ('RUNNING')"));
        assert!(check("metrics.loss <= 0.2 AND metrics.loss >= 0.2"));
        assert!(check("attributes.start_time > 999"));
        assert!(check(""));
        assert!(check("   "));
    }

    #[test]
    fn a_missing_metric_param_or_tag_fails_the_condition() {
        assert!(!check("metrics.nope > 0"));
        assert!(!check("params.nope = 'x'"));
        assert!(!check("tags.nope != 'x'"));
        assert!(!check("attributes.end_time > 0"));
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        for (filter, needle) in [
            ("metrics.loss <", "expected a value"),
            ("metrics.loss < 'a'", "number"),
            ("params.lr > '1'", "quoted string"),
            ("foo.bar = 'x'", "not metrics, params, tags or attributes"),
            ("metrics.a > 1 or metrics.b > 1", "OR is not supported"),
            ("metrics.a > 1 metrics.b > 1", "expected AND"),
            ("params.lr = 'unterminated", "unterminated"),
            ("params.lr IN 'x'", "expected ( after IN"),
            ("metrics.a ~ 1", "unexpected"),
            ("metrics.a > 1 and", "ends after AND"),
        ] {
            let err = Filter::parse(filter).unwrap_err().0;
            assert!(err.contains(needle), "{filter:?}: {err}");
        }
        let err = Filter::parse("attributes.colour = 'red'")
            .unwrap()
            .matches(&run())
            .unwrap_err();
        assert!(err.0.contains("colour"), "{err}");
    }

    #[test]
    fn like_matches_sql_wildcards() {
        assert!(like("abc", "a%", false));
        assert!(like("abc", "%c", false));
        assert!(like("abc", "a_c", false));
        assert!(like("abc", "%", false));
        assert!(!like("abc", "a_", false));
        assert!(like("a%b", "a%b", false));
        assert!(like("ABC", "abc", true));
        assert!(!like("ABC", "abc", false));
        assert!(like("xaaay", "x%a%y", false));
    }

    #[test]
    fn order_by_clauses() {
        let o = parse_order_by("metrics.loss DESC").unwrap();
        assert_eq!(o.key.kind, KeyKind::Metric);
        assert!(!o.ascending);
        let o = parse_order_by("attributes.start_time").unwrap();
        assert_eq!(
            o.key,
            Key {
                kind: KeyKind::Attribute,
                name: "start_time".into()
            }
        );
        assert!(o.ascending);
        let o = parse_order_by("params.`a b` asc").unwrap();
        assert_eq!(o.key.name, "a b");
        assert!(parse_order_by("metrics.loss sideways").is_err());
        assert!(parse_order_by("").is_err());
    }
}
