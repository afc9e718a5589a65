//! Clients of external APIs. Each is a trait (what the application needs) plus a real
//! implementation whose base URL comes from settings, so tests point it at a local mock server;
//! providers without credentials get a logged dry-run instead.

pub mod gemini;
pub mod google_oauth;
pub mod http;
pub mod infinite_pay;
pub mod mailer;
pub mod mercado_pago;
pub mod meta_graph;

use std::sync::Arc;

use crate::config::Settings;

/// Every external client the application uses, behind its trait.
#[derive(Clone)]
pub struct Clients {
    pub mailer: Arc<dyn mailer::Mailer>,
    pub google: Option<Arc<dyn google_oauth::GoogleOAuth>>,
    pub meta_graph: Arc<dyn meta_graph::MetaGraph>,
    /// The AI assistant's model; `None` without `GEMINI_API_KEY`.
    pub language_model: Option<Arc<dyn gemini::LanguageModel>>,
    /// Always the real client: every call acts with a seller's own token, so there is nothing to
    /// dry-run (without `MP_CLIENT_ID` no seller can connect: no authorization URL).
    pub mercado_pago: Arc<dyn mercado_pago::MercadoPago>,
    /// Always the real client: every call names a tenant's own handle.
    pub infinite_pay: Arc<dyn infinite_pay::InfinitePay>,
}

impl Clients {
    /// Builds the real clients (or their dry-runs) from settings.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let http = http::client()?;
        let language_model = gemini::from_settings(&settings.ai, http.clone())
            .map(|client| Arc::new(client) as Arc<dyn gemini::LanguageModel>);
        Ok(Self {
            mailer: mailer::from_settings(&settings.mail)?,
            google: google_oauth::from_settings(&settings.google, http.clone()),
            meta_graph: Arc::new(meta_graph::from_settings(&settings.whatsapp, http.clone())),
            language_model,
            mercado_pago: Arc::new(mercado_pago::from_settings(
                &settings.payments,
                http.clone(),
            )),
            infinite_pay: Arc::new(infinite_pay::from_settings(&settings.payments, http)),
        })
    }
}
