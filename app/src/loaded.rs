//! Data a page loads from the server, read in the browser by one JSON reader.
//!
//! Leptos's default resource codec decodes the value the server rendered
//! into the page with `serde_json::from_str`, while a server function's
//! answer is decoded with `serde_json::from_slice`. Each of the two makes
//! the compiler emit a whole JSON parser, and a whole deserializer for every
//! type read both ways, into the wasm: the shell carried two copies of the
//! fleet counts', the server status' and the error type's. [`load`] makes a
//! resource whose codec also reads from bytes, so each type has one decoder;
//! the live event stream reads its events the same way
//! ([`read_json`]).
//!
//! `Resource::new` is refused by clippy (`clippy.toml`) so a new page does
//! not bring the second parser back.

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// JSON, read from the bytes of a string (see the module's note).
pub struct BytesJson;

impl<T: Serialize> Encoder<T> for BytesJson {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for BytesJson {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(json: &str) -> Result<T, serde_json::Error> {
        read_json(json)
    }
}

/// The reader every browser-side decode shares, over `json`'s bytes: for
/// callers that read a value piece by piece (the event stream).
pub fn json_reader(json: &str) -> serde_json::Deserializer<serde_json::de::SliceRead<'_>> {
    serde_json::Deserializer::from_slice(json.as_bytes())
}

/// Reads one JSON value with the shared reader ([`json_reader`]).
pub fn read_json<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
    let mut reader = json_reader(json);
    let value = T::deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// A resource decoded with [`BytesJson`].
pub type Loaded<T> = Resource<T, BytesJson>;

/// `Resource::new` with the shared JSON reader: loads `fetcher(source())`
/// on the server during rendering, and again in the browser whenever
/// `source` changes.
#[track_caller]
pub fn load<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Loaded<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Send + Sync + Clone + PartialEq + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codec_round_trips_and_names_what_it_cannot_read() {
        let encoded = <BytesJson as Encoder<Vec<u32>>>::encode(&vec![1, 2, 3]).expect("encodes");
        let back: Vec<u32> = <BytesJson as Decoder<Vec<u32>>>::decode(&encoded).expect("decodes");
        assert_eq!(back, vec![1, 2, 3]);

        let err = <BytesJson as Decoder<Vec<u32>>>::decode("[1, \"two\"]").unwrap_err();
        assert!(err.to_string().contains("line 1 column"), "{err}");
    }
}
