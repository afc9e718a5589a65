//! Bounds on a GraphQL document, checked before async-graphql validates it. Validation walks
//! fragment spreads as written, so a small document whose fragments spread each other twice per
//! level costs exponential time; these checks are linear in the document and run before any login.
//!
//! - size in bytes (`GRAPHQL_MAX_DOCUMENT_BYTES`);
//! - lexical tokens (`GRAPHQL_MAX_TOKENS`), counted without parsing;
//! - fields after fragment expansion (`GRAPHQL_MAX_EXPANDED_FIELDS`), computed once per fragment
//!   instead of expanding; `__typename` counts like any field.

use std::collections::HashMap;

use async_graphql::{
    Request, ServerError,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::config::DocumentLimits;

/// Refuses a request whose document exceeds a limit; the error names the limit's setting. The
/// parsed document stays in the request, so async-graphql does not parse it again.
pub fn check(request: &mut Request, limits: DocumentLimits) -> Result<(), ServerError> {
    let refuse = |what: String| Err(ServerError::new(what, None));
    if request.query.len() > limits.max_bytes {
        return refuse(format!(
            "the document is larger than {} bytes (GRAPHQL_MAX_DOCUMENT_BYTES)",
            limits.max_bytes
        ));
    }
    if count_tokens(&request.query, limits.max_tokens + 1) > limits.max_tokens {
        return refuse(format!(
            "the document has more than {} tokens (GRAPHQL_MAX_TOKENS)",
            limits.max_tokens
        ));
    }
    let document = request.parsed_query()?;
    if expanded_fields(document) > limits.max_expanded_fields {
        return refuse(format!(
            "the document expands to more than {} fields (GRAPHQL_MAX_EXPANDED_FIELDS)",
            limits.max_expanded_fields
        ));
    }
    Ok(())
}

/// Lexical tokens of a GraphQL document (names, numbers, strings, punctuators), counting at most
/// to `stop`. Whitespace, commas and comments are not tokens.
fn count_tokens(source: &str, stop: usize) -> usize {
    let bytes = source.as_bytes();
    let mut count = 0;
    let mut i = 0;
    while i < bytes.len() && count < stop {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' => {
                // A name or a number (with its sign, fraction and exponent).
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.'))
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        count += 1;
    }
    count
}

/// How many fields the operations select once every fragment spread is expanded, saturating.
/// Each fragment's count is computed once; a fragment cycle (invalid, refused by validation)
/// counts as nothing.
fn expanded_fields(document: &ExecutableDocument) -> u64 {
    let mut memo = HashMap::new();
    document
        .operations
        .iter()
        .map(|(_, op)| count_set(document, &op.node.selection_set.node, &mut memo))
        .fold(0, u64::saturating_add)
}

fn count_set<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    memo: &mut HashMap<&'d str, Option<u64>>,
) -> u64 {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                1u64.saturating_add(count_set(document, &field.node.selection_set.node, memo))
            }
            Selection::InlineFragment(inline) => {
                count_set(document, &inline.node.selection_set.node, memo)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match memo.get(name) {
                    Some(Some(known)) => *known,
                    // Being counted further up: a cycle.
                    Some(None) => 0,
                    None => {
                        memo.insert(name, None);
                        let count = document.fragments.get(name).map_or(0, |fragment| {
                            count_set(document, &fragment.node.selection_set.node, memo)
                        });
                        memo.insert(name, Some(count));
                        count
                    }
                }
            }
        })
        .fold(0, u64::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(query: &str) -> u64 {
        expanded_fields(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn tokens_skip_whitespace_commas_comments_and_count_strings_once() {
        assert_eq!(count_tokens("{ a, b }", 100), 4);
        assert_eq!(count_tokens("# only a comment\n", 100), 0);
        assert_eq!(
            count_tokens(
                r#"query($x: Int = -1.5e3) { f(s: "a \" b", t: """x "" y""") @d }"#,
                100
            ),
            22
        );
        assert_eq!(count_tokens("{ ...F }", 100), 4);
        assert_eq!(count_tokens(&"a ".repeat(10_000), 7), 7);
    }

    #[test]
    fn fragments_are_counted_once_and_multiplied_by_their_spreads() {
        assert_eq!(expanded("{ a b { c } }"), 3);
        assert_eq!(expanded("{ ...B ...B } fragment B on Q { x y }"), 4);
        let mut doubling = String::from("{ ...F30 } fragment F0 on Q { __typename }");
        for level in 1..=30 {
            let below = level - 1;
            doubling.push_str(&format!(
                " fragment F{level} on Q {{ ...F{below} ...F{below} }}"
            ));
        }
        assert_eq!(expanded(&doubling), 1 << 30);
        assert_eq!(expanded("{ ...A } fragment A on Q { x ...A }"), 1);
        assert_eq!(expanded("{ ... on Q { a ... { b } } }"), 2);
    }
}
