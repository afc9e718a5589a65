//! A minimal SMTP server for tests: accepts every message and records it.

use std::sync::{Arc, Mutex};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::Notify,
};

/// One received message.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl ReceivedMail {
    /// The message with quoted-printable soft breaks and escapes undone (enough for assertions).
    pub fn decoded(&self) -> String {
        let joined = self.data.replace("=\r\n", "").replace("=\n", "");
        let mut out = Vec::with_capacity(joined.len());
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(byte);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The first run of exactly six digits (the verification code).
    pub fn six_digit_code(&self) -> Option<String> {
        let text = self.decoded();
        let chars: Vec<char> = text.chars().collect();
        (0..chars.len().saturating_sub(5)).find_map(|i| {
            let run = &chars[i..i + 6];
            let before = i
                .checked_sub(1)
                .map(|j| chars[j].is_ascii_digit())
                .unwrap_or(false);
            let after = chars.get(i + 6).is_some_and(char::is_ascii_digit);
            (run.iter().all(char::is_ascii_digit) && !before && !after)
                .then(|| run.iter().collect())
        })
    }
}

#[derive(Clone, Default)]
pub struct MockSmtp {
    pub port: u16,
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
}

impl MockSmtp {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            port: listener.local_addr().unwrap().port(),
            ..Self::default()
        };
        let accepting = server.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let server = accepting.clone();
                tokio::spawn(async move { server.session(socket).await });
            }
        });
        server
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits until at least `count` messages arrived (bounded: a missing e-mail fails the test).
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        tokio::time::timeout(std::time::Duration::from_secs(20), async {
            loop {
                let notified = self.arrived.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.messages.lock().unwrap().len() >= count {
                    return self.messages();
                }
                notified.await;
            }
        })
        .await
        .expect("e-mail did not arrive")
    }

    async fn session(&self, socket: tokio::net::TcpStream) {
        let (reader, mut writer) = socket.into_split();
        let mut lines = BufReader::new(reader).lines();
        let _ = writer.write_all(b"220 mock.smtp ESMTP\r\n").await;
        let (mut from, mut to, mut data, mut in_data) =
            (String::new(), Vec::new(), String::new(), false);
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    in_data = false;
                    self.messages.lock().unwrap().push(ReceivedMail {
                        from: std::mem::take(&mut from),
                        to: std::mem::take(&mut to),
                        data: std::mem::take(&mut data),
                    });
                    self.arrived.notify_waiters();
                    let _ = writer.write_all(b"250 queued\r\n").await;
                } else {
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                continue;
            }
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") {
                b"250-mock.smtp\r\n250 AUTH PLAIN LOGIN\r\n"
            } else if upper.starts_with("HELO") {
                b"250 mock.smtp\r\n"
            } else if upper.starts_with("AUTH") {
                b"235 authenticated\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                from = line[10..].trim().trim_matches(['<', '>']).to_owned();
                b"250 ok\r\n"
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                b"250 ok\r\n"
            } else if upper == "DATA" {
                in_data = true;
                b"354 go ahead\r\n"
            } else if upper == "QUIT" {
                let _ = writer.write_all(b"221 bye\r\n").await;
                return;
            } else {
                b"250 ok\r\n"
            };
            if writer.write_all(reply).await.is_err() {
                return;
            }
        }
    }
}
