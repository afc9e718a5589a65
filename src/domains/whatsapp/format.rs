//! Text as WhatsApp shows it: its own emphasis marks instead of Markdown's, links spelled out,
//! and texts over WhatsApp's limit split into several messages at paragraph, line or word
//! boundaries, never truncated.

/// The most characters of one text message (protocols.md §1.4).
pub const MAX_TEXT_CHARS: usize = 4096;

/// `text` formatted for WhatsApp, in messages of at most `max_chars` characters each (none when
/// it is blank).
pub fn for_whatsapp(text: &str, max_chars: usize) -> Vec<String> {
    split(&markdown_to_whatsapp(text), max_chars)
}

/// Markdown's `**bold**`, `__bold__`, `~~strike~~` and `# heading` become WhatsApp's `*bold*`
/// and `~strike~`; a link `[label](url)` keeps its URL as `label (url)`.
fn markdown_to_whatsapp(text: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let heading = trimmed.trim_start_matches('#');
            if heading.len() < trimmed.len()
                && heading.starts_with(' ')
                && !heading.trim().is_empty()
            {
                format!("*{}*", heading.trim())
            } else {
                line.to_owned()
            }
        })
        .collect();
    let text = lines
        .join("\n")
        .replace("**", "*")
        .replace("__", "*")
        .replace("~~", "~");
    spell_out_links(&text)
}

/// `[label](url)` → `label (url)`, or just `url` when the label is the URL.
fn spell_out_links(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|close| {
            let label = &after[..close];
            let target = &after[close + 2..];
            let end = target.find(')')?;
            let url = &target[..end];
            let plausible = !label.contains(['[', '\n'])
                && !url.is_empty()
                && !url.contains(char::is_whitespace);
            plausible.then_some((label, url, open + 1 + close + 2 + end + 1))
        });
        match link {
            Some((label, url, consumed)) => {
                out.push_str(&rest[..open]);
                if label.trim().is_empty() || label == url {
                    out.push_str(url);
                } else {
                    out.push_str(&format!("{label} ({url})"));
                }
                rest = &rest[consumed..];
            }
            None => {
                out.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Splits `text` into pieces of at most `max_chars` characters, each cut at the last paragraph
/// break that fits, else the last line break, else the last space, else mid-word (a word longer
/// than a whole message).
fn split(text: &str, max_chars: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let fits = match rest.char_indices().nth(max_chars) {
            None => rest.len(),
            Some((limit, _)) => {
                let window = &rest[..limit];
                ["\n\n", "\n", " "]
                    .iter()
                    .find_map(|boundary| window.rfind(boundary).filter(|&at| at > 0))
                    .unwrap_or(limit)
            }
        };
        let (piece, after) = rest.split_at(fits);
        pieces.push(piece.trim_end().to_owned());
        rest = after.trim_start();
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_whatsapps_marks() {
        let [formatted] = for_whatsapp(
            "## Horários\n**Corte** por __R$ 50__, ~~R$ 60~~. Pague em [este link](https://mp.com/x) ou [https://a.b](https://a.b). [nota] (x)",
            MAX_TEXT_CHARS,
        )
        .try_into()
        .unwrap();
        assert_eq!(
            formatted,
            "*Horários*\n*Corte* por *R$ 50*, ~R$ 60~. Pague em este link (https://mp.com/x) ou https://a.b. [nota] (x)"
        );
        assert_eq!(for_whatsapp("#hashtag", MAX_TEXT_CHARS), ["#hashtag"]);
        assert!(for_whatsapp("  \n ", MAX_TEXT_CHARS).is_empty());
    }

    #[test]
    fn long_texts_split_at_paragraphs_then_words_and_lose_nothing() {
        let paragraph = "palavra ".repeat(300); // 2,400 characters
        let text = format!("{paragraph}\n\n{paragraph}\n\n{paragraph}");
        let pieces = for_whatsapp(&text, MAX_TEXT_CHARS);
        assert_eq!(pieces.len(), 3);
        assert!(
            pieces
                .iter()
                .all(|piece| piece.chars().count() <= MAX_TEXT_CHARS)
        );
        assert_eq!(pieces[0], paragraph.trim_end());

        let words = "olá ".repeat(2000);
        let pieces = for_whatsapp(&words, MAX_TEXT_CHARS);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|piece| piece.ends_with("olá")));
        assert_eq!(pieces.join(" "), words.trim_end());

        let word = "ç".repeat(10);
        assert_eq!(for_whatsapp(&word, 4), ["çççç", "çççç", "çç"]);
    }
}
