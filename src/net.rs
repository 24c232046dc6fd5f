//! HTTP plumbing the protocol clients (Koji, dist-git, Bodhi) share: reading a response body with a size
//! limit, so an untrusted or broken server cannot make fedflow buffer without bound; and, for the REST
//! clients, the checked base URL and the configured HTTP client.

/// Why [`read_limited`] stopped.
#[derive(Debug)]
pub enum BodyError {
    /// The declared `Content-Length`, or the bytes received so far, exceed the limit.
    TooLarge,
    /// The connection failed (or timed out) while reading.
    Transport(reqwest::Error),
}

/// Reads the body in chunks and stops as soon as it would exceed `limit`; a declared `Content-Length` over
/// the limit fails before any byte is read.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length().unwrap_or(0);
    if announced > limit as u64 {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The base URL of an HTTP service: http(s), no query or fragment, trailing slashes dropped. The error says
/// what is wrong with it.
pub fn base_url(url: &str) -> Result<reqwest::Url, String> {
    let base = reqwest::Url::parse(url.trim_end_matches('/')).map_err(|err| err.to_string())?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err("not an http(s) URL".to_owned());
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err("must not carry a query or fragment".to_owned());
    }
    Ok(base)
}

/// The HTTP client of a REST service: `timeout` bounds each request as a whole (connect, headers and body).
/// reqwest's default redirect policy drops Authorization and Cookie headers on a cross-host redirect.
pub fn rest_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("fedflow/", env!("CARGO_PKG_VERSION")))
        .build()
}
