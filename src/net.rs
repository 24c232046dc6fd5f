//! HTTP plumbing the protocol clients (Koji, dist-git, Bodhi) share: reading a response body with a size
//! limit, so an untrusted or broken server cannot make fedflow buffer without bound.

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
