//! A zero-copy EDN reader for Jepsen's histories: one pass over the text, in linear
//! time, with the line and column of every form.
//!
//! Jepsen writes a history as EDN op maps, one a line (`history.edn`), or as one vector
//! of them; Elle's and Porcupine's histories are the same kind of text. A history of a
//! few hundred megabytes is ordinary, so the reader never looks back: a cursor walks the
//! bytes once and counts lines and columns as it consumes them, strings and keywords are
//! borrowed from the text (a string is copied only when it holds an escape), and
//! [`items`] hands out the op maps one at a time instead of collecting the file.
//!
//! What it reads is EDN as Clojure's `pr` writes it: `nil`, `true`, `false`; integers
//! (`-3`, `7N`), floats (`2.5`, `1e-3`, `2.5M`, `##Inf`), ratios (`1/3`); strings with
//! the escapes `\" \\ \n \t \r \b \f \uXXXX`; characters (`\a`, `\newline`, `\space`,
//! `\u00e9`); keywords (`:f`, `:jepsen.independent/tuple`) and symbols; lists, vectors,
//! maps and sets (`#{}`); tagged forms (`#jepsen.independent/tuple [k v]`). Commas are
//! whitespace, `;` starts a comment that runs to the end of the line, and `#_` discards
//! the form after it.
//!
//! Limits: a map keeps its entries in the order written, and a key written twice is
//! not an error (lookups find the first); collections and tags may nest
//! [`MAX_DEPTH`] deep; integers too large for an `i64`, decimals (`M`) and ratios are
//! kept as their text. A column counts characters (not bytes) from 1, a tab as one.
//!
//! ```
//! use checkers::edn::{Form, items};
//! let text = "; two ops\n{:type :invoke, :process 0}\n{:type :ok, :process 0}\n";
//! let mut ops = items(text);
//! let (at, op) = ops.next().expect("an op")?;
//! assert_eq!((at.line, at.column), (2, 1));
//! assert_eq!(op.get("type"), Some(&Form::Keyword("invoke")));
//! assert_eq!(ops.count(), 1);
//! # Ok::<(), checkers::edn::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;

/// How deep collections, tags and discards may nest; deeper input is an
/// [`ErrorKind::TooDeep`] error rather than an exhausted stack.
pub const MAX_DEPTH: usize = 512;

/// A place in the text: 1-based line, and 1-based column in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, counting characters.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One EDN form, borrowing its strings, keywords and symbols from the text.
///
/// Its [`Display`](fmt::Display) writes it back as EDN that reads as the same form.
///
/// ```
/// use checkers::edn::{Form, Reader};
/// let (_, form) = Reader::new("[:r 5 nil]").next_form()?.expect("a form");
/// assert_eq!(form, Form::Vector(vec![Form::Keyword("r"), Form::Int(5), Form::Nil]));
/// assert_eq!(form.to_string(), "[:r 5 nil]");
/// # Ok::<(), checkers::edn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Form<'t> {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits an `i64`, written without `N`.
    Int(i64),
    /// An integer written with `N`, or too large for an `i64`: its digits (and sign),
    /// without the `N`.
    BigInt(&'t str),
    /// A floating-point number (`2.5`, `1e-3`, `##Inf`, `##NaN`).
    Float(f64),
    /// An exact decimal, `2.5M`: its text without the `M`.
    Decimal(&'t str),
    /// A ratio, `1/3`, as written.
    Ratio(&'t str),
    /// A string, unescaped (borrowed unless it held an escape).
    Str(Cow<'t, str>),
    /// A character, `\a`, `\newline`, `\u00e9`.
    Char(char),
    /// A keyword, without its colon: `:jepsen/tuple` is `jepsen/tuple`.
    Keyword(&'t str),
    /// A symbol other than `nil`, `true` and `false`.
    Symbol(&'t str),
    /// `( … )`.
    List(Vec<Form<'t>>),
    /// `[ … ]`.
    Vector(Vec<Form<'t>>),
    /// `#{ … }`, in the order written.
    Set(Vec<Form<'t>>),
    /// `{ … }`: key-value pairs in the order written.
    Map(Vec<(Form<'t>, Form<'t>)>),
    /// `#tag form`: the tag without its `#`.
    Tagged(&'t str, Box<Form<'t>>),
}

impl<'t> Form<'t> {
    /// The value under the keyword `:key` of a map; `None` if there is none, or if
    /// this is not a map.
    ///
    /// ```
    /// use checkers::edn::{Form, Reader};
    /// let (_, op) = Reader::new("{:f :txn, :final? true}").next_form()?.expect("a map");
    /// assert_eq!(op.get("final?"), Some(&Form::Bool(true)));
    /// assert_eq!(op.get("process"), None);
    /// # Ok::<(), checkers::edn::Error>(())
    /// ```
    pub fn get(&self, key: &str) -> Option<&Form<'t>> {
        let Form::Map(entries) = self else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| matches!(k, Form::Keyword(name) if *name == key))
            .map(|(_, value)| value)
    }

    /// The name of a keyword, without its colon; `None` for any other form.
    ///
    /// ```
    /// use checkers::edn::Form;
    /// assert_eq!(Form::Keyword("ok").as_keyword(), Some("ok"));
    /// assert_eq!(Form::Symbol("ok").as_keyword(), None);
    /// ```
    pub fn as_keyword(&self) -> Option<&'t str> {
        match self {
            Form::Keyword(name) => Some(name),
            _ => None,
        }
    }

    /// What kind of form this is, for error messages: "a map", "an integer".
    ///
    /// ```
    /// use checkers::edn::Form;
    /// assert_eq!(Form::Vector(Vec::new()).kind(), "a vector");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Form::Nil => "nil",
            Form::Bool(_) => "a boolean",
            Form::Int(_) => "an integer",
            Form::BigInt(_) => "a big integer",
            Form::Float(_) => "a float",
            Form::Decimal(_) => "a decimal",
            Form::Ratio(_) => "a ratio",
            Form::Str(_) => "a string",
            Form::Char(_) => "a character",
            Form::Keyword(_) => "a keyword",
            Form::Symbol(_) => "a symbol",
            Form::List(_) => "a list",
            Form::Vector(_) => "a vector",
            Form::Set(_) => "a set",
            Form::Map(_) => "a map",
            Form::Tagged(..) => "a tagged value",
        }
    }
}

impl fmt::Display for Form<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Form::Nil => f.write_str("nil"),
            Form::Bool(b) => write!(f, "{b}"),
            Form::Int(i) => write!(f, "{i}"),
            Form::BigInt(digits) => write!(f, "{digits}N"),
            Form::Float(x) => write_float(f, *x),
            Form::Decimal(text) => write!(f, "{text}M"),
            Form::Ratio(text) | Form::Symbol(text) => f.write_str(text),
            Form::Str(s) => write_string(f, s),
            Form::Char(c) => write_char(f, *c),
            Form::Keyword(name) => write!(f, ":{name}"),
            Form::List(items) => write_items(f, "(", items, ")"),
            Form::Vector(items) => write_items(f, "[", items, "]"),
            Form::Set(items) => write_items(f, "#{", items, "}"),
            Form::Map(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    let separator = if i == 0 { "" } else { ", " };
                    write!(f, "{separator}{key} {value}")?;
                }
                f.write_str("}")
            }
            Form::Tagged(tag, form) => write!(f, "#{tag} {form}"),
        }
    }
}

fn write_items(
    f: &mut fmt::Formatter<'_>,
    open: &str,
    items: &[Form<'_>],
    close: &str,
) -> fmt::Result {
    f.write_str(open)?;
    for (i, item) in items.iter().enumerate() {
        let separator = if i == 0 { "" } else { " " };
        write!(f, "{separator}{item}")?;
    }
    f.write_str(close)
}

fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        f.write_str("##NaN")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "##Inf" } else { "##-Inf" })
    } else {
        // Debug, unlike Display, always writes a `.` or an exponent (`1.0`, `1e16`), so
        // that the text reads back as a float, and the shortest text that does.
        write!(f, "{x:?}")
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{:04x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

fn write_char(f: &mut fmt::Formatter<'_>, c: char) -> fmt::Result {
    match NAMED_CHARS.iter().find(|(_, named)| *named == c) {
        Some((name, _)) => write!(f, "\\{name}"),
        None if c.is_control() || c.is_whitespace() => write!(f, "\\u{:04x}", u32::from(c)),
        None => write!(f, "\\{c}"),
    }
}

/// The characters EDN writes by name.
const NAMED_CHARS: [(&str, char); 6] = [
    ("newline", '\n'),
    ("space", ' '),
    ("tab", '\t'),
    ("return", '\r'),
    ("formfeed", '\u{c}'),
    ("backspace", '\u{8}'),
];

/// Why the text is not EDN, and where.
///
/// ```
/// use checkers::edn::{ErrorKind, Reader};
/// let err = Reader::new("\n{:type :ok").next_form().unwrap_err();
/// assert!(matches!(err.kind, ErrorKind::Unclosed { close: '}', .. }));
/// assert_eq!(
///     err.to_string(),
///     "line 2, column 1: expected `}` to close the map opened at line 2, column 1, but the input ends"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {kind}")]
pub struct Error {
    /// Where: the opening of an unclosed collection or string, else where the reader
    /// found what it did not expect.
    pub position: Position,
    /// What was expected.
    pub kind: ErrorKind,
}

/// What an [`Error`] found; each says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ends inside a collection.
    #[error("expected `{close}` to close the {what} opened at {opened}, but the input ends")]
    Unclosed {
        /// "map", "vector", "list" or "set".
        what: &'static str,
        /// The closing delimiter it needs.
        close: char,
        /// Where it opens.
        opened: Position,
    },
    /// A collection is closed by the wrong delimiter.
    #[error("expected `{close}` to close the {what} opened at {opened}, got `{found}`")]
    Mismatched {
        /// "map", "vector", "list" or "set".
        what: &'static str,
        /// The closing delimiter it needs.
        close: char,
        /// The delimiter found.
        found: char,
        /// Where it opens.
        opened: Position,
    },
    /// A closing delimiter with nothing open.
    #[error("expected a form, got `{0}` with nothing open for it to close")]
    UnexpectedClose(char),
    /// The input ends inside a string.
    #[error("expected `\"` to end the string opened at {opened}, but the input ends")]
    UnterminatedString {
        /// Where it opens.
        opened: Position,
    },
    /// A map with a key and no value.
    #[error(
        "expected a value after this key: the map opened at {opened} has an odd number of forms, and a map holds key-value pairs"
    )]
    OddMap {
        /// Where the map opens.
        opened: Position,
    },
    /// A token that is no number, keyword or symbol.
    #[error("expected a number, a keyword or a symbol, got `{0}`")]
    BadToken(String),
    /// An unknown escape in a string.
    #[error("expected an escape (\\\", \\\\, \\n, \\t, \\r, \\b, \\f or \\uXXXX), got `{0}`")]
    BadEscape(String),
    /// An unknown character literal.
    #[error(
        "expected a character (\\a, \\newline, \\space, \\tab, \\return, \\formfeed, \\backspace or \\uXXXX), got `{0}`"
    )]
    BadCharacter(String),
    /// `#` followed by something that is not a set, a tag, a discard or a symbolic value.
    #[error("expected `#{{`, `#_`, `##Inf`, `##-Inf`, `##NaN` or a tag like `#inst`, got `{0}`")]
    BadDispatch(String),
    /// A prefix (`#_`, a tag) with no form after it before a closing delimiter.
    #[error("expected a form after `{after}`, got `{found}`")]
    MissingForm {
        /// The prefix.
        after: String,
        /// The closing delimiter found instead.
        found: char,
    },
    /// The input ends where something more is needed.
    #[error("expected {0}, but the input ends")]
    End(&'static str),
    /// Collections nested deeper than [`MAX_DEPTH`].
    #[error("expected at most {} levels of nesting", MAX_DEPTH)]
    TooDeep,
}

/// What the reader's steps return: the error boxed, so that a form travels in 32 bytes
/// (an `Error` is 64).
type Step<T> = Result<T, Box<Error>>;

/// Bytes that end a token: whitespace, commas, delimiters, quotes, comments.
const DELIMITER: [bool; 256] = {
    let mut table = [false; 256];
    let delimiters = b" \t\n\r\x0c,()[]{}\";";
    let mut i = 0;
    while i < delimiters.len() {
        table[delimiters[i] as usize] = true;
        i += 1;
    }
    table
};

/// The end of the token that starts at `start`.
fn token_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| DELIMITER[usize::from(b)])
        .map_or(bytes.len(), |n| start + n)
}

/// Whether `b` continues a multi-byte UTF-8 character (and so starts no column).
fn continues(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// A cursor over EDN text that reads one top-level form at a time.
///
/// ```
/// use checkers::edn::{Form, Reader};
/// let mut reader = Reader::new("1 ; one\n:two");
/// assert_eq!(reader.next_form()?.map(|(_, f)| f), Some(Form::Int(1)));
/// let (at, two) = reader.next_form()?.expect("a second form");
/// assert_eq!((at.line, at.column, two), (2, 1, Form::Keyword("two")));
/// assert_eq!(reader.next_form()?, None);
/// # Ok::<(), checkers::edn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Reader<'t> {
    text: &'t str,
    /// The next byte to read.
    pos: usize,
    /// The line of `pos`.
    line: usize,
    /// Where that line starts.
    line_start: usize,
    /// Continuation bytes of multi-byte characters between `line_start` and `pos`.
    wide: usize,
    /// Collections, tags and discards open around `pos`.
    depth: usize,
    /// The items of the sequences being read, innermost last: each sequence takes its
    /// own off the top when it closes, into a vector of exactly their number.
    items: Vec<Form<'t>>,
    /// The same for the entries of maps.
    entries: Vec<(Form<'t>, Form<'t>)>,
}

impl<'t> Reader<'t> {
    /// A reader at the start of `text` (after a byte-order mark, if it has one).
    pub fn new(text: &'t str) -> Reader<'t> {
        let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
        Reader {
            text,
            pos: start,
            line: 1,
            line_start: start,
            wide: 0,
            depth: 0,
            items: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// Where the reader is.
    pub fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.pos - self.line_start - self.wide + 1,
        }
    }

    /// The next top-level form and where it starts; `None` at the end of the text.
    /// After an error the reader's place is unspecified: stop reading.
    pub fn next_form(&mut self) -> Result<Option<(Position, Form<'t>)>, Error> {
        self.next_top_level().map_err(|e| *e)
    }

    fn next_top_level(&mut self) -> Step<Option<(Position, Form<'t>)>> {
        self.reset(0);
        self.skip_blank()?;
        match self.peek() {
            None => Ok(None),
            Some(first) => {
                let at = self.position();
                Ok(Some((at, self.form(first)?)))
            }
        }
    }

    /// Forgets what an error left open; `depth` collections are open.
    fn reset(&mut self, depth: usize) {
        self.depth = depth;
        self.items.clear();
        self.entries.clear();
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, kind: ErrorKind) -> Box<Error> {
        error_at(self.position(), kind)
    }

    /// Moves to `end`, on the same line, counting the columns of the bytes passed.
    fn advance_to(&mut self, end: usize) {
        let passed = &self.text.as_bytes()[self.pos..end];
        self.wide += passed.iter().filter(|&&b| continues(b)).count();
        self.pos = end;
    }

    /// Passes the newline at `pos`.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
        self.wide = 0;
    }

    /// One level deeper; an error past [`MAX_DEPTH`].
    fn enter(&mut self) -> Step<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(ErrorKind::TooDeep));
        }
        Ok(())
    }

    /// Skips whitespace, commas, comments and discarded forms (`#_ form`).
    fn skip_blank(&mut self) -> Step<()> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' | b',' | 0x0c => self.pos += 1,
                b'\n' => self.newline(),
                b';' => match bytes[self.pos..].iter().position(|&b| b == b'\n') {
                    Some(n) => {
                        self.pos += n;
                        self.newline();
                    }
                    None => self.advance_to(bytes.len()),
                },
                b'#' if bytes.get(self.pos + 1) == Some(&b'_') => {
                    self.pos += 2;
                    self.operand("#_")?;
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// The form after a prefix (`#_`, a tag): there must be one.
    fn operand(&mut self, after: &str) -> Step<Form<'t>> {
        self.enter()?;
        self.skip_blank()?;
        let form = match self.peek() {
            None => return Err(self.error(ErrorKind::End("a form after a `#` prefix"))),
            Some(close @ (b')' | b']' | b'}')) => {
                return Err(self.error(ErrorKind::MissingForm {
                    after: after.to_owned(),
                    found: char::from(close),
                }));
            }
            Some(first) => self.form(first)?,
        };
        self.depth -= 1;
        Ok(form)
    }

    /// The form at `pos`, whose first byte is `first` (not blank).
    fn form(&mut self, first: u8) -> Step<Form<'t>> {
        match first {
            b'{' => self.map(),
            b'[' => self.sequence(1, b']', "vector").map(Form::Vector),
            b'(' => self.sequence(1, b')', "list").map(Form::List),
            b'"' => self.string().map(Form::Str),
            b'\\' => self.character().map(Form::Char),
            b'#' => self.dispatch(),
            b')' | b']' | b'}' => Err(self.error(ErrorKind::UnexpectedClose(char::from(first)))),
            _ => self.token(),
        }
    }

    /// Skips to the next form of a collection opened at `opened`: its first byte, or
    /// `None` at the collection's end (`close`, passed).
    fn next_in(&mut self, opened: Position, close: u8, what: &'static str) -> Step<Option<u8>> {
        self.skip_blank()?;
        match self.peek() {
            None => Err(error_at(
                opened,
                ErrorKind::Unclosed {
                    what,
                    close: char::from(close),
                    opened,
                },
            )),
            Some(b) if b == close => {
                self.pos += 1;
                Ok(None)
            }
            Some(found @ (b')' | b']' | b'}')) => Err(self.error(ErrorKind::Mismatched {
                what,
                close: char::from(close),
                found: char::from(found),
                opened,
            })),
            Some(b) => Ok(Some(b)),
        }
    }

    /// A list, vector or set: its opening is `width` bytes at `pos`.
    fn sequence(&mut self, width: usize, close: u8, what: &'static str) -> Step<Vec<Form<'t>>> {
        let opened = self.position();
        self.enter()?;
        self.pos += width;
        let base = self.items.len();
        while let Some(first) = self.next_in(opened, close, what)? {
            let item = self.form(first)?;
            self.items.push(item);
        }
        self.depth -= 1;
        Ok(self.items.split_off(base))
    }

    fn map(&mut self) -> Step<Form<'t>> {
        let opened = self.position();
        self.enter()?;
        self.pos += 1;
        let base = self.entries.len();
        while let Some(first) = self.next_in(opened, b'}', "map")? {
            let key_at = self.position();
            let key = self.form(first)?;
            let Some(first) = self.next_in(opened, b'}', "map")? else {
                return Err(error_at(key_at, ErrorKind::OddMap { opened }));
            };
            let value = self.form(first)?;
            self.entries.push((key, value));
        }
        self.depth -= 1;
        Ok(Form::Map(self.entries.split_off(base)))
    }

    /// A string: borrowed from the text unless it holds an escape.
    fn string(&mut self) -> Step<Cow<'t, str>> {
        let opened = self.position();
        self.pos += 1;
        let start = self.pos;
        let bytes = self.text.as_bytes();
        loop {
            match bytes.get(self.pos) {
                None => return Err(unterminated(opened)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Borrowed(&self.text[start..self.pos - 1]));
                }
                Some(b'\\') => return self.escaped_string(start, opened).map(Cow::Owned),
                Some(b'\n') => self.newline(),
                Some(&b) => {
                    self.wide += usize::from(continues(b));
                    self.pos += 1;
                }
            }
        }
    }

    /// The rest of a string that holds an escape at `pos`; it started at `start`.
    fn escaped_string(&mut self, start: usize, opened: Position) -> Step<String> {
        let bytes = self.text.as_bytes();
        let mut out = String::from(&self.text[start..self.pos]);
        loop {
            match bytes.get(self.pos) {
                None => return Err(unterminated(opened)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => out.push(self.escape(opened)?),
                Some(b'\n') => {
                    self.newline();
                    out.push('\n');
                }
                Some(_) => {
                    let run = bytes[self.pos..]
                        .iter()
                        .position(|&b| matches!(b, b'"' | b'\\' | b'\n'))
                        .map_or(bytes.len(), |n| self.pos + n);
                    out.push_str(&self.text[self.pos..run]);
                    self.advance_to(run);
                }
            }
        }
    }

    /// The escape at `pos` in a string opened at `opened`.
    fn escape(&mut self, opened: Position) -> Step<char> {
        let at = self.position();
        let Some(c) = self.text[self.pos + 1..].chars().next() else {
            return Err(unterminated(opened));
        };
        let bad = || error_at(at, ErrorKind::BadEscape(format!("\\{c}")));
        let end = self.pos + 1 + c.len_utf8();
        let unescaped = match c {
            '"' => '"',
            '\\' => '\\',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'u' => return self.unicode_escape(at),
            _ => return Err(bad()),
        };
        self.advance_to(end);
        Ok(unescaped)
    }

    /// A `\uXXXX` escape at `pos` (a UTF-16 surrogate pair is two of them).
    fn unicode_escape(&mut self, at: Position) -> Step<char> {
        let unit = |from: usize| {
            let hex = self.text.get(from + 2..from + 6)?;
            let valid =
                self.text[from..].starts_with("\\u") && hex.bytes().all(|b| b.is_ascii_hexdigit());
            valid.then(|| u32::from_str_radix(hex, 16).ok()).flatten()
        };
        let bad = |width: usize| {
            let shown: String = self.text[self.pos..].chars().take(width).collect();
            error_at(at, ErrorKind::BadEscape(shown))
        };
        let high = unit(self.pos).ok_or_else(|| bad(6))?;
        let (code, width) = match high {
            0xD800..=0xDBFF => match unit(self.pos + 6) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12)
                }
                _ => return Err(bad(6)),
            },
            _ => (high, 6),
        };
        let c = char::from_u32(code).ok_or_else(|| bad(width))?;
        self.pos += width;
        Ok(c)
    }

    /// A character literal at `pos`: `\a`, `\newline`, `\u00e9`.
    fn character(&mut self) -> Step<char> {
        let start = self.pos + 1;
        let Some(first) = self.text[start..].chars().next() else {
            return Err(self.error(ErrorKind::End("a character after `\\`")));
        };
        let mut end = start + first.len_utf8();
        if first.is_alphanumeric() {
            end = token_end(self.text.as_bytes(), end);
        }
        let name = &self.text[start..end];
        let c = if first.is_whitespace() {
            None
        } else if name.len() == first.len_utf8() {
            Some(first)
        } else {
            named_char(name)
        };
        let c = c.ok_or_else(|| {
            let shown = name.escape_debug();
            self.error(ErrorKind::BadCharacter(format!("\\{shown}")))
        })?;
        self.advance_to(end);
        Ok(c)
    }

    /// `#{…}`, `##Inf`, or `#tag form`, at `pos`.
    fn dispatch(&mut self) -> Step<Form<'t>> {
        let bytes = self.text.as_bytes();
        match bytes.get(self.pos + 1) {
            Some(b'{') => self.sequence(2, b'}', "set").map(Form::Set),
            Some(b'#') => {
                let end = token_end(bytes, self.pos + 2);
                let value = match &self.text[self.pos + 2..end] {
                    "Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    "NaN" => f64::NAN,
                    _ => return Err(self.bad_dispatch()),
                };
                self.pos = end;
                Ok(Form::Float(value))
            }
            Some(b) if b.is_ascii_alphabetic() => {
                let end = token_end(bytes, self.pos + 1);
                let tag = &self.text[self.pos + 1..end];
                if !is_symbol(tag) {
                    return Err(self.bad_dispatch());
                }
                self.advance_to(end);
                let form = self.operand(&format!("#{tag}"))?;
                Ok(Form::Tagged(tag, Box::new(form)))
            }
            None => Err(self.error(ErrorKind::End("a set, a tag or `##Inf` after `#`"))),
            Some(_) => Err(self.bad_dispatch()),
        }
    }

    /// `#` at `pos` followed by what it cannot be followed by.
    fn bad_dispatch(&self) -> Box<Error> {
        let after = self.text[self.pos + 1..].chars().next();
        let next = self.pos + 1 + after.map_or(0, char::len_utf8);
        let end = match after {
            Some(c) if c.is_ascii() && DELIMITER[c as usize] => next,
            _ => token_end(self.text.as_bytes(), next),
        };
        let shown = self.text[self.pos..end].escape_debug().to_string();
        self.error(ErrorKind::BadDispatch(shown))
    }

    /// A number, keyword or symbol at `pos`.
    fn token(&mut self) -> Step<Form<'t>> {
        if let Some((value, end)) = fast_int(self.text.as_bytes(), self.pos) {
            self.pos = end;
            return Ok(Form::Int(value));
        }
        let end = token_end(self.text.as_bytes(), self.pos);
        let token = &self.text[self.pos..end];
        let form = atom(token).ok_or_else(|| self.error(ErrorKind::BadToken(token.to_owned())))?;
        self.advance_to(end);
        Ok(form)
    }
}

fn error_at(position: Position, kind: ErrorKind) -> Box<Error> {
    Box::new(Error { position, kind })
}

fn unterminated(opened: Position) -> Box<Error> {
    error_at(opened, ErrorKind::UnterminatedString { opened })
}

/// The integer token at `start`, if it is a plain one that fits an `i64` (digits with
/// an optional `-`, no leading zero), parsed as it is scanned, and where it ends.
/// Anything else (`+1`, `1N`, `2.5`, `1/3`, too large) is left to [`number`].
fn fast_int(bytes: &[u8], start: usize) -> Option<(i64, usize)> {
    let negative = bytes.get(start) == Some(&b'-');
    let digits = start + usize::from(negative);
    let mut end = digits;
    // Accumulated as a negative number, which reaches i64::MIN.
    let mut value: i64 = 0;
    while let Some(&b) = bytes.get(end).filter(|b| b.is_ascii_digit()) {
        value = value.checked_mul(10)?.checked_sub(i64::from(b - b'0'))?;
        end += 1;
    }
    let count = end - digits;
    let delimited = bytes.get(end).is_none_or(|&b| DELIMITER[usize::from(b)]);
    if count == 0 || (count > 1 && bytes[digits] == b'0') || !delimited {
        return None;
    }
    Some((
        if negative {
            value
        } else {
            value.checked_neg()?
        },
        end,
    ))
}

fn named_char(name: &str) -> Option<char> {
    if let Some((_, c)) = NAMED_CHARS.iter().find(|(n, _)| *n == name) {
        return Some(*c);
    }
    let hex = name.strip_prefix('u')?;
    if hex.len() != 4 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    char::from_u32(u32::from_str_radix(hex, 16).ok()?)
}

/// A token as a number, keyword, symbol, `nil`, `true` or `false`.
fn atom(token: &str) -> Option<Form<'_>> {
    let bytes = token.as_bytes();
    let digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    if digit_at(0) || (matches!(bytes.first(), Some(b'+' | b'-')) && digit_at(1)) {
        return number(token);
    }
    if let Some(name) = token.strip_prefix(':') {
        let valid = !name.starts_with(':') && all_symbol_chars(name);
        return (!name.is_empty() && valid).then_some(Form::Keyword(name));
    }
    match token {
        "nil" => Some(Form::Nil),
        "true" => Some(Form::Bool(true)),
        "false" => Some(Form::Bool(false)),
        _ => is_symbol(token).then_some(Form::Symbol(token)),
    }
}

/// The ASCII characters of symbols and keywords.
const SYMBOL_ASCII: [bool; 128] = {
    let mut table = [false; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let others = b".*+!-_?$%&=<>/:#'";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

fn is_symbol_char(c: char) -> bool {
    match u8::try_from(c) {
        Ok(b) if b.is_ascii() => SYMBOL_ASCII[usize::from(b)],
        _ => c.is_alphanumeric(),
    }
}

/// Whether every character of `text` may be in a symbol.
fn all_symbol_chars(text: &str) -> bool {
    if text.is_ascii() {
        text.bytes().all(|b| SYMBOL_ASCII[usize::from(b)])
    } else {
        text.chars().all(is_symbol_char)
    }
}

/// A symbol: symbol characters, not starting with a digit, `:`, `#` or `'`.
fn is_symbol(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| is_symbol_char(c) && !c.is_ascii_digit() && !":#'".contains(c))
        && all_symbol_chars(chars.as_str())
}

/// A numeric token: it starts with a digit, or a sign and a digit.
fn number(token: &str) -> Option<Form<'_>> {
    if is_integer(token) {
        return Some(token.parse().map_or(Form::BigInt(token), Form::Int));
    }
    if let Some(digits) = token.strip_suffix('N') {
        return is_integer(digits).then_some(Form::BigInt(digits));
    }
    if let Some(decimal) = token.strip_suffix('M') {
        return (is_integer(decimal) || is_float(decimal)).then_some(Form::Decimal(decimal));
    }
    if let Some((numerator, denominator)) = token.split_once('/') {
        let valid = is_integer(numerator) && is_integer(denominator);
        return (valid && denominator.bytes().all(|b| b.is_ascii_digit()) && denominator != "0")
            .then_some(Form::Ratio(token));
    }
    if is_float(token) {
        return token.parse().ok().map(Form::Float);
    }
    None
}

/// Digits with an optional sign, and no leading zero (Clojure reads `017` as octal).
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
}

/// `int frac? exp?` with a fraction or an exponent: `2.5`, `1e-3`, `2.`.
fn is_float(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let whole_ok = {
        let digits = whole.strip_prefix(['+', '-']).unwrap_or(whole);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    let fraction_ok = fraction.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()));
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    whole_ok && fraction_ok && exponent_ok && (fraction.is_some() || exponent.is_some())
}

/// The op-level forms of a history, one at a time, each with where it starts.
///
/// Every top-level form is one, except that a top-level vector or list is entered and
/// its elements come one by one: Jepsen writes a history as op maps one a line, or as
/// one vector of them. Iteration ends after the first error.
///
/// ```
/// use checkers::edn::items;
/// let text = "[{:index 0}\n {:index 1}]";
/// let lines: Vec<usize> = items(text).map(|item| item.map(|(at, _)| at.line)).collect::<Result<_, _>>()?;
/// assert_eq!(lines, vec![1, 2]);
/// # Ok::<(), checkers::edn::Error>(())
/// ```
pub fn items(text: &str) -> Items<'_> {
    Items {
        reader: Reader::new(text),
        open: None,
        done: false,
    }
}

/// The iterator of [`items`].
#[derive(Clone, Debug)]
pub struct Items<'t> {
    reader: Reader<'t>,
    /// The top-level vector or list being read: where it opens, its closing byte and
    /// what it is.
    open: Option<(Position, u8, &'static str)>,
    done: bool,
}

impl<'t> Items<'t> {
    fn step(&mut self) -> Step<Option<(Position, Form<'t>)>> {
        let reader = &mut self.reader;
        loop {
            if let Some((opened, close, what)) = self.open {
                reader.reset(1);
                match reader.next_in(opened, close, what)? {
                    Some(first) => {
                        let at = reader.position();
                        return Ok(Some((at, reader.form(first)?)));
                    }
                    None => self.open = None,
                }
                continue;
            }
            reader.reset(0);
            reader.skip_blank()?;
            let Some(first) = reader.peek() else {
                return Ok(None);
            };
            let at = reader.position();
            match first {
                b'[' => self.open = Some((at, b']', "vector")),
                b'(' => self.open = Some((at, b')', "list")),
                _ => return Ok(Some((at, reader.form(first)?))),
            }
            reader.pos += 1;
        }
    }
}

impl<'t> Iterator for Items<'t> {
    type Item = Result<(Position, Form<'t>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step();
        if !matches!(item, Ok(Some(_))) {
            self.done = true;
        }
        item.map_err(|e| *e).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every op-level form of `text`, or the first error.
    fn read_all(text: &str) -> Result<Vec<(Position, Form<'_>)>, Error> {
        items(text).collect()
    }

    /// The one form of `text`.
    fn one(text: &str) -> Form<'_> {
        let mut reader = Reader::new(text);
        let (_, form) = reader.next_form().unwrap().expect("a form");
        assert_eq!(reader.next_form().unwrap(), None, "one form in {text:?}");
        form
    }

    fn error(text: &str) -> Error {
        read_all(text).expect_err("malformed")
    }

    fn at(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn scalars() {
        assert_eq!(one("nil"), Form::Nil);
        assert_eq!(one("true"), Form::Bool(true));
        assert_eq!(one("false"), Form::Bool(false));
        assert_eq!(one("42"), Form::Int(42));
        assert_eq!(one("-7"), Form::Int(-7));
        assert_eq!(one("+7"), Form::Int(7));
        assert_eq!(one("0"), Form::Int(0));
        assert_eq!(one("-9223372036854775808"), Form::Int(i64::MIN));
        assert_eq!(
            one("9223372036854775808"),
            Form::BigInt("9223372036854775808")
        );
        assert_eq!(one("12N"), Form::BigInt("12"));
        assert_eq!(one("-12N"), Form::BigInt("-12"));
        assert_eq!(one("2.5"), Form::Float(2.5));
        assert_eq!(one("-1e-3"), Form::Float(-1e-3));
        assert_eq!(one("2."), Form::Float(2.0));
        assert_eq!(one("1.5E+2"), Form::Float(150.0));
        assert_eq!(one("2.5M"), Form::Decimal("2.5"));
        assert_eq!(one("3M"), Form::Decimal("3"));
        assert_eq!(one("-1/3"), Form::Ratio("-1/3"));
        assert_eq!(one("##Inf"), Form::Float(f64::INFINITY));
        assert_eq!(one("##-Inf"), Form::Float(f64::NEG_INFINITY));
        assert!(matches!(one("##NaN"), Form::Float(x) if x.is_nan()));
    }

    #[test]
    fn keywords_and_symbols() {
        assert_eq!(one(":f"), Form::Keyword("f"));
        assert_eq!(one(":final?"), Form::Keyword("final?"));
        assert_eq!(
            one(":jepsen.independent/tuple"),
            Form::Keyword("jepsen.independent/tuple")
        );
        assert_eq!(one("foo/bar"), Form::Symbol("foo/bar"));
        assert_eq!(one("-"), Form::Symbol("-"));
        assert_eq!(one("->x"), Form::Symbol("->x"));
        assert_eq!(one("nil?"), Form::Symbol("nil?"));
        assert_eq!(one("élan"), Form::Symbol("élan"));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(one(r#""plain""#), Form::Str(Cow::Borrowed("plain")));
        assert!(matches!(one(r#""plain""#), Form::Str(Cow::Borrowed(_))));
        assert_eq!(
            one(r#""a \"b\" \\ c\nd\te\r\b\f""#),
            Form::Str("a \"b\" \\ c\nd\te\r\u{8}\u{c}".into())
        );
        assert_eq!(one(r#""\u00e9\u0041""#), Form::Str("éA".into()));
        assert_eq!(one(r#""\ud83d\ude00""#), Form::Str("😀".into()));
        assert_eq!(one("\"two\nlines\""), Form::Str("two\nlines".into()));
        assert_eq!(one("\"été\""), Form::Str("été".into()));
    }

    #[test]
    fn characters() {
        assert_eq!(one(r"\a"), Form::Char('a'));
        assert_eq!(one(r"\newline"), Form::Char('\n'));
        assert_eq!(one(r"\space"), Form::Char(' '));
        assert_eq!(one(r"\tab"), Form::Char('\t'));
        assert_eq!(one(r"\u00e9"), Form::Char('é'));
        assert_eq!(one(r"\("), Form::Char('('));
        assert_eq!(one(r"\é"), Form::Char('é'));
        assert_eq!(
            one(r"[\a \b]"),
            Form::Vector(vec![Form::Char('a'), Form::Char('b')])
        );
    }

    #[test]
    fn collections_tags_and_discards() {
        assert_eq!(
            one("(1 [2] #{3} {:a 4})"),
            Form::List(vec![
                Form::Int(1),
                Form::Vector(vec![Form::Int(2)]),
                Form::Set(vec![Form::Int(3)]),
                Form::Map(vec![(Form::Keyword("a"), Form::Int(4))]),
            ])
        );
        assert_eq!(
            one("#jepsen.independent/tuple [3 nil]"),
            Form::Tagged(
                "jepsen.independent/tuple",
                Box::new(Form::Vector(vec![Form::Int(3), Form::Nil]))
            )
        );
        assert_eq!(
            one("[1 #_ 2 #_#_ 3 4 5 #_ [6]]"),
            Form::Vector(vec![Form::Int(1), Form::Int(5)])
        );
        assert_eq!(
            one("{:a 1,, :b 2 ; a comment }\n}"),
            Form::Map(vec![
                (Form::Keyword("a"), Form::Int(1)),
                (Form::Keyword("b"), Form::Int(2))
            ])
        );
        assert_eq!(one("[]"), Form::Vector(Vec::new()));
        assert_eq!(one("{}"), Form::Map(Vec::new()));
    }

    #[test]
    fn a_jepsen_op_map() {
        let op = one(
            "{:type :ok, :f :txn, :value [[:r 5 [1 2]] [:append 3 12]], :time 123456789, :process 4, :index 12}",
        );
        assert_eq!(op.get("type"), Some(&Form::Keyword("ok")));
        assert_eq!(op.get("process"), Some(&Form::Int(4)));
        assert_eq!(op.get("time"), Some(&Form::Int(123_456_789)));
        assert_eq!(op.get("final?"), None);
        assert_eq!(Form::Int(1).get("type"), None);
        let Some(Form::Vector(mops)) = op.get("value") else {
            panic!("a vector of mops")
        };
        assert_eq!(mops.len(), 2);
        assert_eq!(
            mops[0],
            Form::Vector(vec![
                Form::Keyword("r"),
                Form::Int(5),
                Form::Vector(vec![Form::Int(1), Form::Int(2)])
            ])
        );
    }

    #[test]
    fn items_enter_a_top_level_vector_and_give_each_its_position() {
        let text =
            "; a comment\n\n[{:index 0}\n  {:index 1} {:index 2}\n]\n{:index 3}\n(\n{:index 4})";
        let positions: Vec<Position> = read_all(text)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            positions,
            vec![at(3, 2), at(4, 3), at(4, 14), at(6, 1), at(8, 1)]
        );
        let forms = read_all(text).unwrap();
        for (i, (_, form)) in forms.iter().enumerate() {
            assert_eq!(form.get("index"), Some(&Form::Int(i as i64)));
        }
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let text = "{:s \"été\", :t \"😀\"} :x\n\"a\nbé\" :y";
        let forms: Vec<Position> = read_all(text)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(forms, vec![at(1, 1), at(1, 20), at(2, 1), at(3, 5)]);
        let err = error("{:s \"été\" :t}");
        assert_eq!(err.position, at(1, 11), "{err}");
    }

    #[test]
    fn an_unclosed_map_names_where_it_opens() {
        let err = error("{:a 1}\n\n{:type :invoke,\n :value [1 2]");
        assert_eq!(err.position, at(3, 1));
        assert_eq!(
            err.to_string(),
            "line 3, column 1: expected `}` to close the map opened at line 3, column 1, but the input ends"
        );
        let err = error("[{:a 1}\n {:a 2}");
        assert_eq!(err.position, at(1, 1));
        assert!(matches!(
            err.kind,
            ErrorKind::Unclosed {
                what: "vector",
                close: ']',
                ..
            }
        ));
        let err = error("{:a [1 2}");
        assert_eq!(err.position, at(1, 9));
        assert_eq!(
            err.to_string(),
            "line 1, column 9: expected `]` to close the vector opened at line 1, column 5, got `}`"
        );
        let err = error("{:a 1}}");
        assert_eq!(err.position, at(1, 7));
        assert_eq!(err.kind, ErrorKind::UnexpectedClose('}'));
    }

    #[test]
    fn an_unterminated_string_names_where_it_opens() {
        let err = error("{:a 1}\n{:b \"never\nends}\n");
        assert_eq!(err.position, at(2, 5));
        assert_eq!(
            err.to_string(),
            "line 2, column 5: expected `\"` to end the string opened at line 2, column 5, but the input ends"
        );
        let err = error("\"ends in an escape\\");
        assert!(
            matches!(err.kind, ErrorKind::UnterminatedString { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_bad_token_names_its_line_and_column() {
        let err = error("{:type :ok}\n{:type :ok, :value 1x2}");
        assert_eq!(err.position, at(2, 20));
        assert_eq!(
            err.to_string(),
            "line 2, column 20: expected a number, a keyword or a symbol, got `1x2`"
        );
        for (text, token) in [
            ("@foo", "@foo"),
            ("017", "017"),
            ("::a", "::a"),
            (":", ":"),
            ("1/0", "1/0"),
        ] {
            assert_eq!(
                error(text).kind,
                ErrorKind::BadToken(token.into()),
                "{text}"
            );
        }
        assert_eq!(
            error(r#"  "a \q""#),
            Error {
                position: at(1, 6),
                kind: ErrorKind::BadEscape("\\q".into())
            }
        );
        assert_eq!(
            error(r#""\u12""#).kind,
            ErrorKind::BadEscape("\\u12\"".into())
        );
        assert_eq!(
            error(r#""\ud800""#).kind,
            ErrorKind::BadEscape("\\ud800".into())
        );
        assert_eq!(
            error(r"\bogus").kind,
            ErrorKind::BadCharacter("\\bogus".into())
        );
        assert_eq!(error(r"[\ ]").kind, ErrorKind::BadCharacter("\\ ".into()));
        assert_eq!(error("\\").kind, ErrorKind::End("a character after `\\`"));
        assert_eq!(
            error("#?(:clj 1)").kind,
            ErrorKind::BadDispatch("#?".into())
        );
        assert_eq!(
            error("##Infinity").kind,
            ErrorKind::BadDispatch("##Infinity".into())
        );
        assert_eq!(
            error("[1 #_]").kind,
            ErrorKind::MissingForm {
                after: "#_".into(),
                found: ']'
            }
        );
        assert_eq!(
            error("#inst").kind,
            ErrorKind::End("a form after a `#` prefix")
        );
    }

    #[test]
    fn an_odd_map_names_the_key_without_a_value() {
        let err = error("{:type :ok,\n :process}");
        assert_eq!(err.position, at(2, 2));
        assert_eq!(
            err.to_string(),
            "line 2, column 2: expected a value after this key: the map opened at line 1, column 1 has an odd number of forms, and a map holds key-value pairs"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for text in [
            "[".repeat(100_000),
            "#_".repeat(100_000),
            "#a ".repeat(100_000),
            format!(
                "{}1{}",
                "[".repeat(MAX_DEPTH + 1),
                "]".repeat(MAX_DEPTH + 1)
            ),
        ] {
            assert_eq!(error(&text).kind, ErrorKind::TooDeep);
        }
        let deep = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Reader::new(&deep).next_form().is_ok());
        // Items enter a top-level vector: its elements may nest one level less.
        let deep_items = format!(
            "[{}1{}]",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(read_all(&deep_items).unwrap().len(), 1);
    }

    #[test]
    fn iteration_stops_after_an_error() {
        let mut forms = items("{:a 1} } {:b 2}");
        assert!(forms.next().unwrap().is_ok());
        assert!(forms.next().unwrap().is_err());
        assert!(forms.next().is_none());
    }

    #[test]
    fn a_byte_order_mark_is_not_a_column() {
        let forms = read_all("\u{feff}{:a 1} :b").unwrap();
        assert_eq!(forms[1].0, at(1, 8));
    }

    mod round_trip {
        use super::*;
        use proptest::prelude::*;

        /// An owned form, so that a strategy can make one (forms borrow their text).
        #[derive(Clone, Debug)]
        enum Tree {
            Leaf(Leaf),
            List(Vec<Tree>),
            Vector(Vec<Tree>),
            Set(Vec<Tree>),
            Map(Vec<(Tree, Tree)>),
            Tagged(String, Box<Tree>),
        }

        #[derive(Clone, Debug)]
        enum Leaf {
            Nil,
            Bool(bool),
            Int(i64),
            BigInt(String),
            Float(f64),
            Decimal(String),
            Ratio(String),
            Str(String),
            Char(char),
            Keyword(String),
            Symbol(String),
        }

        impl Tree {
            fn form(&self) -> Form<'_> {
                fn all(items: &[Tree]) -> Vec<Form<'_>> {
                    items.iter().map(Tree::form).collect()
                }
                match self {
                    Tree::Leaf(leaf) => leaf.form(),
                    Tree::List(items) => Form::List(all(items)),
                    Tree::Vector(items) => Form::Vector(all(items)),
                    Tree::Set(items) => Form::Set(all(items)),
                    Tree::Map(entries) => {
                        Form::Map(entries.iter().map(|(k, v)| (k.form(), v.form())).collect())
                    }
                    Tree::Tagged(tag, inner) => Form::Tagged(tag, Box::new(inner.form())),
                }
            }
        }

        impl Leaf {
            fn form(&self) -> Form<'_> {
                match self {
                    Leaf::Nil => Form::Nil,
                    Leaf::Bool(b) => Form::Bool(*b),
                    Leaf::Int(i) => Form::Int(*i),
                    Leaf::BigInt(t) => Form::BigInt(t),
                    Leaf::Float(x) => Form::Float(*x),
                    Leaf::Decimal(t) => Form::Decimal(t),
                    Leaf::Ratio(t) => Form::Ratio(t),
                    Leaf::Str(s) => Form::Str(Cow::Borrowed(s)),
                    Leaf::Char(c) => Form::Char(*c),
                    Leaf::Keyword(k) => Form::Keyword(k),
                    Leaf::Symbol(s) => Form::Symbol(s),
                }
            }
        }

        const NAME: &str =
            "[a-zA-Zé*!_?$%&=<>][a-zA-Z0-9é*!_?$%&=<>.+'#:-]{0,8}(/[a-z][a-z0-9]{0,4})?";

        fn leaf() -> impl Strategy<Value = Leaf> {
            prop_oneof![
                Just(Leaf::Nil),
                any::<bool>().prop_map(Leaf::Bool),
                any::<i64>().prop_map(Leaf::Int),
                "-?[1-9][0-9]{0,30}".prop_map(Leaf::BigInt),
                any::<f64>()
                    .prop_filter("not NaN", |x| !x.is_nan())
                    .prop_map(Leaf::Float),
                "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,5})?".prop_map(Leaf::Decimal),
                "-?[1-9][0-9]{0,5}/[1-9][0-9]{0,5}".prop_map(Leaf::Ratio),
                any::<String>().prop_map(Leaf::Str),
                any::<char>().prop_map(Leaf::Char),
                NAME.prop_map(Leaf::Keyword),
                NAME.prop_filter("not a literal", |s| !["nil", "true", "false"]
                    .contains(&s.as_str()))
                    .prop_map(Leaf::Symbol),
            ]
        }

        fn tree() -> impl Strategy<Value = Tree> {
            leaf()
                .prop_map(Tree::Leaf)
                .prop_recursive(4, 48, 6, |inner| {
                    prop_oneof![
                        prop::collection::vec(inner.clone(), 0..6).prop_map(Tree::List),
                        prop::collection::vec(inner.clone(), 0..6).prop_map(Tree::Vector),
                        prop::collection::vec(inner.clone(), 0..6).prop_map(Tree::Set),
                        prop::collection::vec((inner.clone(), inner.clone()), 0..4)
                            .prop_map(Tree::Map),
                        ("[a-z][a-z0-9.]{0,6}(/[a-z]{1,5})?", inner)
                            .prop_map(|(tag, form)| Tree::Tagged(tag, Box::new(form))),
                    ]
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn printing_a_form_and_reading_it_back_gives_the_form(tree in tree()) {
                let form = tree.form();
                let text = form.to_string();
                let mut reader = Reader::new(&text);
                let read = reader.next_form().map_err(|e| TestCaseError::fail(format!("{e} in {text}")))?;
                prop_assert_eq!(read.map(|(_, f)| f), Some(form), "{}", text);
                prop_assert_eq!(reader.next_form().ok(), Some(None), "{}", text);
            }

            #[test]
            fn op_maps_one_a_line_each_start_where_they_are_written(
                trees in prop::collection::vec(tree(), 1..8),
                blank in prop::collection::vec("( |,|\n|; comment\n|#_ 0 )*", 8),
            ) {
                let mut text = String::new();
                let mut expected = Vec::new();
                for (i, tree) in trees.iter().enumerate() {
                    text.push_str(&blank[i]);
                    let line = text.matches('\n').count() + 1;
                    let column = text.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                    expected.push(Position { line, column });
                    text.push_str(&format!("{{:index {i}, :value {}}}", tree.form()));
                }
                let read = read_all(&text).map_err(|e| TestCaseError::fail(format!("{e} in {text}")))?;
                let positions: Vec<Position> = read.iter().map(|(p, _)| *p).collect();
                prop_assert_eq!(positions, expected, "{}", text);
            }
        }
    }
}
