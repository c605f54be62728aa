//! The sandboxed tool language of `tool_feedback-v0`: a small, deterministic interpreter that
//! stands in for MINT's Python REPL.
//!
//! An `<execute>` block is a list of statements separated by `;` or new lines. A statement is
//! `name = expression` or an expression; every statement's value is printed. Expressions are
//! integers, `"text"`, lists `[1, 2]`, variables, `+ - * / % ^`, comparisons (`1`/`0`), and
//! the three tools: `lookup(entity, field)`, `calc(expression)` and `run(program, input)`.
//! `run` executes a list/string pipeline such as `"filter(x > 3) | map(x * 2) | sort"`.
//!
//! Invariants (tested with hostile programs): evaluation is a pure function of the program,
//! the variables and the facts; it never touches the host; every run stops after at most
//! [`SandboxLimits::steps`] steps, nests at most [`SandboxLimits::depth`] levels, keeps every
//! integer within ±[`SandboxLimits::magnitude`] (checked arithmetic), and never builds a list,
//! text or output larger than its limit. Any excess is an error value, never a panic.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Bounds on one `<execute>` block or one `run` of a proposed program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxLimits {
    /// Evaluation steps (one per expression node, list element or pipeline element visited).
    pub steps: u64,
    /// Nesting depth of expressions and pipelines.
    pub depth: u32,
    /// Largest absolute integer value.
    pub magnitude: i64,
    /// Longest list or text (elements or characters).
    pub length: usize,
    /// Longest program text in characters.
    pub program_chars: usize,
    /// Longest printed output in characters.
    pub output_chars: usize,
    /// Most variables a session may hold.
    pub variables: usize,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            steps: 20_000,
            depth: 32,
            magnitude: 1_000_000_000_000_000,
            length: 256,
            program_chars: 4_000,
            output_chars: 2_000,
            variables: 32,
        }
    }
}

/// A value of the tool language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Text(String),
    List(Vec<i64>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Text(text) => f.write_str(text),
            Value::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
        }
    }
}

/// Why a program stopped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SandboxError {
    #[error("syntax error: {0}")]
    Syntax(String),
    #[error("program too long (more than {0} characters)")]
    ProgramTooLong(usize),
    #[error("step limit reached ({0} steps)")]
    StepLimit(u64),
    #[error("nesting too deep (more than {0} levels)")]
    DepthLimit(u32),
    #[error("number too large (limit ±{0})")]
    NumberTooLarge(i64),
    #[error("value too long (more than {0} elements or characters)")]
    TooLong(usize),
    #[error("division by zero")]
    DivisionByZero,
    #[error("type error: {0}")]
    Type(String),
    #[error("unknown name `{0}`")]
    UnknownName(String),
    #[error("too many variables (limit {0})")]
    TooManyVariables(usize),
    #[error("{0}")]
    Lookup(String),
}

/// The facts `lookup` reads.
pub trait Facts {
    /// The value of `field` of `entity`, or a message saying what is unknown.
    ///
    /// # Errors
    /// When the entity or field is unknown.
    fn lookup(&self, entity: &str, field: &str) -> Result<Value, String>;
}

/// What one `<execute>` block did: its printed output and the facts a checker needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Execution {
    /// The printed output (one line per statement), ending with the error if any.
    pub output: String,
    /// Successful `lookup` calls, as (entity, field) in canonical spelling of the query.
    pub lookups: Vec<(String, String)>,
    /// Every integer a `calc` call returned, in order.
    pub calc_results: Vec<i64>,
    pub error: Option<SandboxError>,
    /// Evaluation steps spent (at most the step limit plus one stage's cost).
    pub steps: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Pow,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Equal,
    NotEqual,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Int(i64),
    Text(String),
    List(Vec<Expr>),
    Var(String),
    Neg(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
struct Statement {
    target: Option<String>,
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Int(i64),
    Text(String),
    Ident(String),
    Symbol(&'static str),
    Separator,
}

const SYMBOLS: [&str; 19] =
    [">=", "<=", "==", "!=", "(", ")", "[", "]", ",", "=", "+", "-", "*", "/", "%", "^", "|", "<", ">"];

fn tokenize(source: &str, limits: &SandboxLimits) -> Result<Vec<Token>, SandboxError> {
    if source.chars().count() > limits.program_chars {
        return Err(SandboxError::ProgramTooLong(limits.program_chars));
    }
    let mut tokens = Vec::new();
    let mut rest = source;
    while let Some(c) = rest.chars().next() {
        if c == '\n' || c == ';' {
            tokens.push(Token::Separator);
            rest = &rest[1..];
        } else if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c.is_ascii_digit() {
            let end = rest.find(|d: char| !d.is_ascii_digit()).unwrap_or(rest.len());
            let number = rest[..end]
                .parse::<i64>()
                .ok()
                .filter(|n| *n <= limits.magnitude)
                .ok_or(SandboxError::NumberTooLarge(limits.magnitude))?;
            tokens.push(Token::Int(number));
            rest = &rest[end..];
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = rest.find(|d: char| !(d.is_ascii_alphanumeric() || d == '_')).unwrap_or(rest.len());
            tokens.push(Token::Ident(rest[..end].to_owned()));
            rest = &rest[end..];
        } else if c == '"' || c == '\'' {
            let body = &rest[1..];
            let end = body.find(c).ok_or_else(|| SandboxError::Syntax("unterminated text".into()))?;
            tokens.push(Token::Text(body[..end].to_owned()));
            rest = &body[end + 1..];
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            tokens.push(Token::Symbol(symbol));
            rest = &rest[symbol.len()..];
        } else {
            return Err(SandboxError::Syntax(format!("unexpected character {c:?}")));
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    position: usize,
    depth: u32,
    max_depth: u32,
}

impl<'a> Parser<'a> {
    fn new(tokens: &'a [Token], limits: &SandboxLimits) -> Self {
        Self { tokens, position: 0, depth: 0, max_depth: limits.depth }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn peek_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol)
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), SandboxError> {
        if self.peek_symbol(symbol) {
            self.position += 1;
            Ok(())
        } else {
            Err(SandboxError::Syntax(format!("expected `{symbol}`")))
        }
    }

    fn enter(&mut self) -> Result<(), SandboxError> {
        self.depth += 1;
        if self.depth > self.max_depth { Err(SandboxError::DepthLimit(self.max_depth)) } else { Ok(()) }
    }

    fn program(&mut self) -> Result<Vec<Statement>, SandboxError> {
        let mut statements = Vec::new();
        loop {
            while matches!(self.peek(), Some(Token::Separator)) {
                self.position += 1;
            }
            if self.peek().is_none() {
                return Ok(statements);
            }
            let target = match (self.peek(), self.tokens.get(self.position + 1)) {
                (Some(Token::Ident(name)), Some(Token::Symbol("="))) => {
                    let name = name.clone();
                    self.position += 2;
                    Some(name)
                }
                _ => None,
            };
            let expr = self.expression()?;
            statements.push(Statement { target, expr });
            match self.peek() {
                None | Some(Token::Separator) => {}
                Some(token) => return Err(SandboxError::Syntax(format!("unexpected {token:?} after a statement"))),
            }
        }
    }

    fn expression(&mut self) -> Result<Expr, SandboxError> {
        self.enter()?;
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Token::Symbol("<")) => Some(Op::Less),
            Some(Token::Symbol("<=")) => Some(Op::LessEq),
            Some(Token::Symbol(">")) => Some(Op::Greater),
            Some(Token::Symbol(">=")) => Some(Op::GreaterEq),
            Some(Token::Symbol("==")) => Some(Op::Equal),
            Some(Token::Symbol("!=")) => Some(Op::NotEqual),
            _ => None,
        };
        let result = match op {
            Some(op) => {
                self.position += 1;
                let right = self.additive()?;
                Expr::Binary(op, Box::new(left), Box::new(right))
            }
            None => left,
        };
        self.depth -= 1;
        Ok(result)
    }

    fn additive(&mut self) -> Result<Expr, SandboxError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Token::Symbol("+")) => Op::Add,
                Some(Token::Symbol("-")) => Op::Sub,
                _ => return Ok(left),
            };
            self.position += 1;
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, SandboxError> {
        let mut left = self.power()?;
        loop {
            let op = match self.peek() {
                Some(Token::Symbol("*")) => Op::Mul,
                Some(Token::Symbol("/")) => Op::Div,
                Some(Token::Symbol("%")) => Op::Rem,
                _ => return Ok(left),
            };
            self.position += 1;
            let right = self.power()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn power(&mut self) -> Result<Expr, SandboxError> {
        let base = self.unary()?;
        if self.peek_symbol("^") {
            self.position += 1;
            self.enter()?;
            let exponent = self.power()?;
            self.depth -= 1;
            return Ok(Expr::Binary(Op::Pow, Box::new(base), Box::new(exponent)));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Expr, SandboxError> {
        if self.peek_symbol("-") {
            self.position += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(inner)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, SandboxError> {
        let token = self.peek().cloned().ok_or_else(|| SandboxError::Syntax("unexpected end of input".into()))?;
        self.position += 1;
        match token {
            Token::Int(n) => Ok(Expr::Int(n)),
            Token::Text(text) => Ok(Expr::Text(text)),
            Token::Ident(name) if self.peek_symbol("(") => {
                self.position += 1;
                let arguments = self.list_items(")")?;
                Ok(Expr::Call(name, arguments))
            }
            Token::Ident(name) => Ok(Expr::Var(name)),
            Token::Symbol("(") => {
                let inner = self.expression()?;
                self.expect_symbol(")")?;
                Ok(inner)
            }
            Token::Symbol("[") => Ok(Expr::List(self.list_items("]")?)),
            other => Err(SandboxError::Syntax(format!("unexpected {other:?}"))),
        }
    }

    /// Comma-separated expressions up to `close` (consumed).
    fn list_items(&mut self, close: &str) -> Result<Vec<Expr>, SandboxError> {
        let mut items = Vec::new();
        if self.peek_symbol(close) {
            self.position += 1;
            return Ok(items);
        }
        loop {
            items.push(self.expression()?);
            if self.peek_symbol(",") {
                self.position += 1;
            } else {
                self.expect_symbol(close)?;
                return Ok(items);
            }
        }
    }
}

/// One stage of a `run` pipeline.
#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Map(Expr),
    Filter(Expr),
    Take(usize),
    Drop(usize),
    Repeat(u64, Vec<Stage>),
    Named(NamedStage),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NamedStage {
    Reverse,
    Sort,
    SortDesc,
    Unique,
    Sum,
    Length,
    Max,
    Min,
    Upper,
    Lower,
}

const NAMED_STAGES: [(&str, NamedStage); 10] = [
    ("reverse", NamedStage::Reverse),
    ("sort", NamedStage::Sort),
    ("sort_desc", NamedStage::SortDesc),
    ("unique", NamedStage::Unique),
    ("sum", NamedStage::Sum),
    ("length", NamedStage::Length),
    ("max", NamedStage::Max),
    ("min", NamedStage::Min),
    ("upper", NamedStage::Upper),
    ("lower", NamedStage::Lower),
];

impl Parser<'_> {
    fn pipeline(&mut self) -> Result<Vec<Stage>, SandboxError> {
        self.enter()?;
        let mut stages = vec![self.stage()?];
        while self.peek_symbol("|") {
            self.position += 1;
            stages.push(self.stage()?);
        }
        self.depth -= 1;
        Ok(stages)
    }

    fn count_argument(&mut self) -> Result<i64, SandboxError> {
        match self.peek().cloned() {
            Some(Token::Int(n)) => {
                self.position += 1;
                Ok(n)
            }
            _ => Err(SandboxError::Syntax("expected a whole number".into())),
        }
    }

    fn stage(&mut self) -> Result<Stage, SandboxError> {
        let Some(Token::Ident(name)) = self.peek().cloned() else {
            return Err(SandboxError::Syntax("expected a pipeline stage".into()));
        };
        self.position += 1;
        let stage = match name.as_str() {
            "map" | "filter" => {
                self.expect_symbol("(")?;
                let expr = self.expression()?;
                self.expect_symbol(")")?;
                if name == "map" { Stage::Map(expr) } else { Stage::Filter(expr) }
            }
            "take" | "drop" => {
                self.expect_symbol("(")?;
                let count = usize::try_from(self.count_argument()?).unwrap_or(usize::MAX);
                self.expect_symbol(")")?;
                if name == "take" { Stage::Take(count) } else { Stage::Drop(count) }
            }
            "repeat" => {
                self.expect_symbol("(")?;
                let times = self.count_argument()? as u64;
                self.expect_symbol(",")?;
                let body = self.pipeline()?;
                self.expect_symbol(")")?;
                Stage::Repeat(times, body)
            }
            other => match NAMED_STAGES.iter().find(|(n, _)| *n == other) {
                Some((_, stage)) => Stage::Named(*stage),
                None => return Err(SandboxError::Syntax(format!("unknown stage `{other}`"))),
            },
        };
        Ok(stage)
    }
}

/// Parses a `run` pipeline program (checking syntax only).
///
/// # Errors
/// A syntax, length or depth error.
pub fn check_pipeline(program: &str, limits: &SandboxLimits) -> Result<(), SandboxError> {
    parse_pipeline(program, limits).map(drop)
}

fn parse_pipeline(program: &str, limits: &SandboxLimits) -> Result<Vec<Stage>, SandboxError> {
    let tokens = tokenize(program, limits)?;
    if tokens.contains(&Token::Separator) {
        return Err(SandboxError::Syntax("a pipeline is one line".into()));
    }
    let mut parser = Parser::new(&tokens, limits);
    let stages = parser.pipeline()?;
    if parser.position != tokens.len() {
        return Err(SandboxError::Syntax("unexpected text after the pipeline".into()));
    }
    Ok(stages)
}

/// The evaluator: counts steps and checks every bound.
struct Machine<'a> {
    limits: SandboxLimits,
    steps: u64,
    facts: &'a dyn Facts,
    lookups: Vec<(String, String)>,
    calc_results: Vec<i64>,
}

impl Machine<'_> {
    fn tick(&mut self, cost: u64) -> Result<(), SandboxError> {
        self.steps = self.steps.saturating_add(cost);
        if self.steps > self.limits.steps { Err(SandboxError::StepLimit(self.limits.steps)) } else { Ok(()) }
    }

    fn bounded(&self, n: Option<i64>) -> Result<i64, SandboxError> {
        n.filter(|n| n.unsigned_abs() <= self.limits.magnitude.unsigned_abs())
            .ok_or(SandboxError::NumberTooLarge(self.limits.magnitude))
    }

    fn check_length(&self, length: usize) -> Result<(), SandboxError> {
        if length > self.limits.length { Err(SandboxError::TooLong(self.limits.length)) } else { Ok(()) }
    }

    fn arithmetic(&self, op: Op, a: i64, b: i64) -> Result<i64, SandboxError> {
        let result = match op {
            Op::Add => a.checked_add(b),
            Op::Sub => a.checked_sub(b),
            Op::Mul => a.checked_mul(b),
            Op::Div | Op::Rem if b == 0 => return Err(SandboxError::DivisionByZero),
            Op::Div => a.checked_div_euclid(b),
            Op::Rem => a.checked_rem_euclid(b),
            Op::Pow => {
                let exponent = u32::try_from(b).map_err(|_| SandboxError::Type("negative or huge exponent".into()))?;
                a.checked_pow(exponent)
            }
            Op::Less => Some(i64::from(a < b)),
            Op::LessEq => Some(i64::from(a <= b)),
            Op::Greater => Some(i64::from(a > b)),
            Op::GreaterEq => Some(i64::from(a >= b)),
            Op::Equal => Some(i64::from(a == b)),
            Op::NotEqual => Some(i64::from(a != b)),
        };
        self.bounded(result)
    }

    fn eval(&mut self, expr: &Expr, variables: &BTreeMap<String, Value>) -> Result<Value, SandboxError> {
        self.tick(1)?;
        match expr {
            Expr::Int(n) => Ok(Value::Int(*n)),
            Expr::Text(text) => {
                self.check_length(text.chars().count())?;
                Ok(Value::Text(text.clone()))
            }
            Expr::List(items) => {
                self.check_length(items.len())?;
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.int(item, variables)?);
                }
                Ok(Value::List(values))
            }
            Expr::Var(name) => variables.get(name).cloned().ok_or_else(|| SandboxError::UnknownName(name.clone())),
            Expr::Neg(inner) => {
                let n = self.int(inner, variables)?;
                Ok(Value::Int(self.bounded(n.checked_neg())?))
            }
            Expr::Binary(op, left, right) => {
                let a = self.int(left, variables)?;
                let b = self.int(right, variables)?;
                Ok(Value::Int(self.arithmetic(*op, a, b)?))
            }
            Expr::Call(name, arguments) => self.call(name, arguments, variables),
        }
    }

    fn int(&mut self, expr: &Expr, variables: &BTreeMap<String, Value>) -> Result<i64, SandboxError> {
        match self.eval(expr, variables)? {
            Value::Int(n) => Ok(n),
            other => Err(SandboxError::Type(format!("expected a number, got {}", kind_name(&other)))),
        }
    }

    fn call(
        &mut self,
        name: &str,
        arguments: &[Expr],
        variables: &BTreeMap<String, Value>,
    ) -> Result<Value, SandboxError> {
        let arity = |n: usize| {
            if arguments.len() == n {
                Ok(())
            } else {
                Err(SandboxError::Type(format!("{name} takes {n} argument(s), got {}", arguments.len())))
            }
        };
        match name {
            "lookup" => {
                arity(2)?;
                let entity = self.text(&arguments[0], variables)?;
                let field = self.text(&arguments[1], variables)?;
                let value = self.facts.lookup(&entity, &field).map_err(SandboxError::Lookup)?;
                self.lookups.push((entity.trim().to_lowercase(), field.trim().to_lowercase()));
                Ok(value)
            }
            "calc" => {
                arity(1)?;
                let value = match self.eval(&arguments[0], variables)? {
                    Value::Text(source) => {
                        let tokens = tokenize(&source, &self.limits)?;
                        let mut parser = Parser::new(&tokens, &self.limits);
                        let expr = parser.expression()?;
                        if parser.position != tokens.len() {
                            return Err(SandboxError::Syntax("calc takes one arithmetic expression".into()));
                        }
                        self.int(&expr, variables)?
                    }
                    Value::Int(n) => n,
                    Value::List(_) => return Err(SandboxError::Type("calc takes a number or an expression".into())),
                };
                self.calc_results.push(value);
                Ok(Value::Int(value))
            }
            "run" => {
                arity(2)?;
                let program = self.text(&arguments[0], variables)?;
                let input = self.eval(&arguments[1], variables)?;
                let stages = parse_pipeline(&program, &self.limits)?;
                self.pipeline(&stages, input)
            }
            other => Err(SandboxError::UnknownName(other.to_owned())),
        }
    }

    fn text(&mut self, expr: &Expr, variables: &BTreeMap<String, Value>) -> Result<String, SandboxError> {
        match self.eval(expr, variables)? {
            Value::Text(text) => Ok(text),
            other => Err(SandboxError::Type(format!("expected text, got {}", kind_name(&other)))),
        }
    }

    fn pipeline(&mut self, stages: &[Stage], mut value: Value) -> Result<Value, SandboxError> {
        for stage in stages {
            value = self.stage(stage, value)?;
        }
        Ok(value)
    }

    fn stage(&mut self, stage: &Stage, value: Value) -> Result<Value, SandboxError> {
        self.tick(1)?;
        match (stage, value) {
            (Stage::Repeat(times, body), mut value) => {
                for _ in 0..*times {
                    self.tick(1)?;
                    value = self.pipeline(body, value)?;
                }
                Ok(value)
            }
            (Stage::Map(expr), Value::List(items)) => {
                let mut scope = BTreeMap::new();
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    scope.insert("x".to_owned(), Value::Int(item));
                    out.push(self.int(expr, &scope)?);
                }
                Ok(Value::List(out))
            }
            (Stage::Filter(expr), Value::List(items)) => {
                let mut scope = BTreeMap::new();
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    scope.insert("x".to_owned(), Value::Int(item));
                    if self.int(expr, &scope)? != 0 {
                        out.push(item);
                    }
                }
                Ok(Value::List(out))
            }
            (Stage::Take(n), Value::List(items)) => Ok(Value::List(items.into_iter().take(*n).collect())),
            (Stage::Drop(n), Value::List(items)) => Ok(Value::List(items.into_iter().skip(*n).collect())),
            (Stage::Take(n), Value::Text(text)) => Ok(Value::Text(text.chars().take(*n).collect())),
            (Stage::Drop(n), Value::Text(text)) => Ok(Value::Text(text.chars().skip(*n).collect())),
            (Stage::Named(named), value) => self.named(*named, value),
            (stage, value) => {
                Err(SandboxError::Type(format!("{} cannot take {}", stage_name(stage), kind_name(&value))))
            }
        }
    }

    fn named(&mut self, stage: NamedStage, value: Value) -> Result<Value, SandboxError> {
        let length = match &value {
            Value::List(items) => items.len(),
            Value::Text(text) => text.len(),
            Value::Int(_) => 1,
        };
        self.tick(length as u64)?;
        let result = match (stage, value) {
            (NamedStage::Reverse, Value::List(mut items)) => {
                items.reverse();
                Value::List(items)
            }
            (NamedStage::Reverse, Value::Text(text)) => Value::Text(text.chars().rev().collect()),
            (NamedStage::Sort, Value::List(mut items)) => {
                items.sort_unstable();
                Value::List(items)
            }
            (NamedStage::SortDesc, Value::List(mut items)) => {
                items.sort_unstable_by(|a, b| b.cmp(a));
                Value::List(items)
            }
            (NamedStage::Unique, Value::List(items)) => {
                let mut seen = std::collections::BTreeSet::new();
                Value::List(items.into_iter().filter(|item| seen.insert(*item)).collect())
            }
            (NamedStage::Sum, Value::List(items)) => {
                let mut total = 0_i64;
                for item in items {
                    total = self.arithmetic(Op::Add, total, item)?;
                }
                Value::Int(total)
            }
            (NamedStage::Length, Value::List(items)) => Value::Int(items.len() as i64),
            (NamedStage::Length, Value::Text(text)) => Value::Int(text.chars().count() as i64),
            (NamedStage::Max, Value::List(items)) => {
                Value::Int(items.into_iter().max().ok_or_else(|| SandboxError::Type("max of an empty list".into()))?)
            }
            (NamedStage::Min, Value::List(items)) => {
                Value::Int(items.into_iter().min().ok_or_else(|| SandboxError::Type("min of an empty list".into()))?)
            }
            (NamedStage::Upper, Value::Text(text)) => Value::Text(text.to_uppercase()),
            (NamedStage::Lower, Value::Text(text)) => Value::Text(text.to_lowercase()),
            (stage, value) => {
                let name = NAMED_STAGES.iter().find(|(_, s)| *s == stage).map_or("stage", |(n, _)| n);
                return Err(SandboxError::Type(format!("{name} cannot take {}", kind_name(&value))));
            }
        };
        if let Value::Text(text) = &result {
            self.check_length(text.chars().count())?;
        }
        Ok(result)
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Int(_) => "a number",
        Value::Text(_) => "text",
        Value::List(_) => "a list",
    }
}

fn stage_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::Map(_) => "map",
        Stage::Filter(_) => "filter",
        Stage::Take(_) => "take",
        Stage::Drop(_) => "drop",
        Stage::Repeat(..) => "repeat",
        Stage::Named(_) => "stage",
    }
}

/// Runs an `<execute>` block against the session's variables (updated in place, as in a
/// persistent REPL: assignments made before an error stay).
pub fn execute(
    source: &str,
    variables: &mut BTreeMap<String, Value>,
    facts: &dyn Facts,
    limits: &SandboxLimits,
) -> Execution {
    let mut machine = Machine { limits: *limits, steps: 0, facts, lookups: Vec::new(), calc_results: Vec::new() };
    let mut output = String::new();
    let error = (|| {
        let tokens = tokenize(source, limits)?;
        let statements = Parser::new(&tokens, limits).program()?;
        if statements.is_empty() {
            return Err(SandboxError::Syntax("nothing to run".into()));
        }
        for statement in &statements {
            let value = machine.eval(&statement.expr, variables)?;
            let line = match &statement.target {
                Some(name) => {
                    if !variables.contains_key(name) && variables.len() >= limits.variables {
                        return Err(SandboxError::TooManyVariables(limits.variables));
                    }
                    variables.insert(name.clone(), value.clone());
                    format!("{name} = {value}")
                }
                None => value.to_string(),
            };
            if output.len() + line.len() + 1 > limits.output_chars {
                return Err(SandboxError::TooLong(limits.output_chars));
            }
            output.push_str(&line);
            output.push('\n');
        }
        Ok(())
    })()
    .err();
    if let Some(error) = &error {
        let _ = writeln!(output, "Error: {error}");
    }
    if output.ends_with('\n') {
        output.pop();
    }
    Execution { output, lookups: machine.lookups, calc_results: machine.calc_results, error, steps: machine.steps }
}

/// Runs a pipeline program on an input (the checker of list tasks).
///
/// # Errors
/// Any sandbox error.
pub fn run_pipeline(program: &str, input: Value, limits: &SandboxLimits) -> Result<Value, SandboxError> {
    struct NoFacts;
    impl Facts for NoFacts {
        fn lookup(&self, _: &str, _: &str) -> Result<Value, String> {
            Err("no facts here".into())
        }
    }
    let stages = parse_pipeline(program, limits)?;
    let mut machine =
        Machine { limits: *limits, steps: 0, facts: &NoFacts, lookups: Vec::new(), calc_results: Vec::new() };
    machine.pipeline(&stages, input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Table;
    impl Facts for Table {
        fn lookup(&self, entity: &str, field: &str) -> Result<Value, String> {
            match (entity.to_lowercase().as_str(), field) {
                ("varnol", "population") => Ok(Value::Int(4200)),
                ("varnol", "river") => Ok(Value::Text("Tekmes".into())),
                _ => Err(format!("unknown entity or field: {entity}.{field}")),
            }
        }
    }

    fn run(source: &str) -> Execution {
        execute(source, &mut BTreeMap::new(), &Table, &SandboxLimits::default())
    }

    #[test]
    fn statements_print_values_and_keep_variables() {
        let mut variables = BTreeMap::new();
        let limits = SandboxLimits::default();
        let first = execute("p = lookup(\"Varnol\", \"population\")\ncalc(p * 3)", &mut variables, &Table, &limits);
        assert_eq!(first.output, "p = 4200\n12600");
        assert_eq!(first.lookups, vec![("varnol".to_owned(), "population".to_owned())]);
        assert_eq!(first.calc_results, vec![12600]);
        let second = execute("calc(\"p / 4 + 2 ^ 3\")", &mut variables, &Table, &limits);
        assert_eq!(second.output, "1058");
    }

    #[test]
    fn pipelines_transform_lists_and_text() {
        let limits = SandboxLimits::default();
        let out =
            run_pipeline("filter(x > 3) | map(x * 2) | sort_desc | take(2)", Value::List(vec![5, 1, 9, 4]), &limits);
        assert_eq!(out, Ok(Value::List(vec![18, 10])));
        assert_eq!(run_pipeline("reverse | upper", Value::Text("abc".into()), &limits), Ok(Value::Text("CBA".into())));
        assert_eq!(run("run(\"unique | sum\", [2, 2, 3])").output, "5");
        assert_eq!(run("run(\"filter(x % 2 == 0) | length\", [1, 2, 4])").output, "2");
    }

    #[test]
    fn errors_are_reported_not_raised() {
        assert!(run("lookup(\"Nowhere\", \"population\")").output.starts_with("Error: unknown entity"));
        assert_eq!(run("1 / 0").error, Some(SandboxError::DivisionByZero));
        assert_eq!(run("undefined + 1").error, Some(SandboxError::UnknownName("undefined".into())));
        assert!(matches!(run("calc(").error, Some(SandboxError::Syntax(_))));
        assert!(matches!(run("x = 1 2").error, Some(SandboxError::Syntax(_))));
    }

    #[test]
    fn hostile_programs_hit_their_bounds() {
        assert_eq!(run("10 ^ 40").error, Some(SandboxError::NumberTooLarge(1_000_000_000_000_000)));
        assert_eq!(run("99999999999999999999999").error, Some(SandboxError::NumberTooLarge(1_000_000_000_000_000)));
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(run(&deep).error, Some(SandboxError::ProgramTooLong(4_000)));
        let nested = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(run(&nested).error, Some(SandboxError::DepthLimit(32)));
        let endless = "run(\"repeat(1000000000000, reverse)\", [1, 2, 3])";
        assert_eq!(run(endless).error, Some(SandboxError::StepLimit(20_000)));
        let growth = "run(\"repeat(100, map(x * x + 2))\", [2])";
        assert_eq!(run(growth).error, Some(SandboxError::NumberTooLarge(1_000_000_000_000_000)));
    }

    fn hostile_program() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            (0_i64..1_000_000_000_000).prop_map(|n| n.to_string()),
            Just("lookup(\"Varnol\", \"population\")".to_owned()),
            Just("\"text\"".to_owned()),
            Just("[1, 2, 3]".to_owned()),
            Just("undefined".to_owned()),
        ];
        let expression = leaf.prop_recursive(12, 200, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone(), prop::sample::select(vec!["+", "-", "*", "/", "%", "^", ">"]))
                    .prop_map(|(a, b, op)| format!("({a} {op} {b})")),
                inner.clone().prop_map(|a| format!("calc({a})")),
                inner.clone().prop_map(|a| format!("-{a}")),
                (1_u64..u64::MAX, prop::sample::select(vec!["map(x * x + 1)", "reverse", "map(x * 10)", "unique"]))
                    .prop_map(|(n, body)| format!("run(\"repeat({n}, {body})\", [3, 4, 5])")),
            ]
        });
        prop_oneof![
            prop::collection::vec(expression, 1..6).prop_map(|statements| statements.join("; ")),
            (1_usize..5_000).prop_map(|n| format!("{}0{}", "(".repeat(n), ")".repeat(n))),
            (1_usize..5_000).prop_map(|n| format!("x = {}1", "-".repeat(n))),
            (1_usize..200).prop_map(|n| format!("{}1", "9 ^ ".repeat(n))),
            ".*".prop_map(|junk: String| junk),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Whatever the program, execution returns within its bounds: steps, output and
        /// magnitude, with an error rather than a panic.
        #[test]
        fn hostile_programs_come_back_within_bounds(program in hostile_program()) {
            let limits = SandboxLimits::default();
            let mut variables = BTreeMap::new();
            let execution = execute(&program, &mut variables, &Table, &limits);
            prop_assert!(execution.steps <= limits.steps + limits.length as u64);
            prop_assert!(execution.output.len() <= limits.output_chars + 200);
            for value in variables.values() {
                if let Value::Int(n) = value {
                    prop_assert!(n.unsigned_abs() <= limits.magnitude as u64);
                }
            }
        }
    }
}
