//! The `Event` protobuf of TensorBoard event files, declared by hand with
//! only the fields Trainyard reads (prost skips the rest), and what one
//! event holds: scalars, or things counted and skipped.
//!
//! Scalars come in two encodings: `simple_value` (tensorboardX, PyTorch,
//! TF1) and a rank-0 tensor with plugin `scalars` (TF2, Keras, torch
//! `new_style`), its value in `tensor_content`, `float_val` or `double_val`.

use std::collections::BTreeMap;

use prost::Message;

/// `tensorflow.Event`.
#[derive(Clone, PartialEq, Message)]
pub struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub file_version: Option<Vec<u8>>,
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<Value>,
}

/// `tensorflow.Summary.Value`; the oneof's members as separate optional
/// fields (same wire bytes). Non-scalar payloads decode to [`Skipped`].
#[derive(Clone, PartialEq, Message)]
pub struct Value {
    /// Bytes, not a string: one bad UTF-8 tag must not fail the event.
    #[prost(bytes = "vec", tag = "1")]
    pub tag: Vec<u8>,
    /// Optional: 0.0 is a real value and is written.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    #[prost(message, optional, tag = "3")]
    pub obsolete_old_style_histogram: Option<Skipped>,
    #[prost(message, optional, tag = "4")]
    pub image: Option<Skipped>,
    #[prost(message, optional, tag = "5")]
    pub histo: Option<Skipped>,
    #[prost(message, optional, tag = "6")]
    pub audio: Option<Skipped>,
    #[prost(message, optional, tag = "8")]
    pub tensor: Option<TensorProto>,
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
}

/// Any message whose content is not read (its fields are skipped unread).
#[derive(Clone, PartialEq, Message)]
pub struct Skipped {}

/// `tensorflow.SummaryMetadata`.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

/// `tensorflow.SummaryMetadata.PluginData`.
#[derive(Clone, PartialEq, Message)]
pub struct PluginData {
    #[prost(bytes = "vec", tag = "1")]
    pub plugin_name: Vec<u8>,
}

/// `tensorflow.TensorProto`, the fields a scalar may use.
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShape>,
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
}

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, Message)]
pub struct TensorShape {
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
}

/// `tensorflow.TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, Message)]
pub struct Dim {
    #[prost(int64, tag = "1")]
    pub size: i64,
}

const DT_FLOAT: i32 = 1;
const DT_DOUBLE: i32 = 2;
/// Tags whose plugin is remembered per file (TF1 writers send it once).
const MAX_REMEMBERED_TAGS: usize = 10_000;

/// What was counted and skipped, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skips {
    pub histograms: u64,
    pub images: u64,
    pub audio: u64,
    pub text: u64,
    /// Other summaries (tensors of other plugins, hparams, PR curves…).
    pub other: u64,
    /// Scalars that are NaN or infinite (the store keeps finite numbers).
    pub non_finite: u64,
    /// Events that carry no summary (file version, graph, session log…).
    pub events_without_summary: u64,
}

impl Skips {
    pub fn add(&mut self, other: &Skips) {
        self.histograms += other.histograms;
        self.images += other.images;
        self.audio += other.audio;
        self.text += other.text;
        self.other += other.other;
        self.non_finite += other.non_finite;
        self.events_without_summary += other.events_without_summary;
    }

    /// Non-scalar summaries skipped (histograms, images, audio, text, other).
    pub fn summaries(&self) -> u64 {
        self.histograms + self.images + self.audio + self.text + self.other
    }
}

/// One scalar of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar {
    pub tag: String,
    pub step: i64,
    /// Seconds since the epoch, as written.
    pub wall_time: f64,
    pub value: f64,
}

/// Decodes one record's payload; its scalars go to `out`, everything else
/// is counted in `skips`. `plugins` remembers each tag's plugin from its
/// first value carrying metadata. `Err` for bytes that are no `Event`.
pub fn read_event(
    payload: &[u8],
    plugins: &mut BTreeMap<String, String>,
    out: &mut Vec<Scalar>,
    skips: &mut Skips,
) -> Result<(), prost::DecodeError> {
    let event = Event::decode(payload)?;
    let Some(summary) = event.summary else {
        skips.events_without_summary += 1;
        return Ok(());
    };
    for value in summary.value {
        let tag = String::from_utf8_lossy(&value.tag).into_owned();
        let named = value
            .metadata
            .as_ref()
            .and_then(|m| m.plugin_data.as_ref())
            .map(|p| String::from_utf8_lossy(&p.plugin_name).into_owned())
            .filter(|p| !p.is_empty());
        if let Some(plugin) = &named {
            if plugins.len() < MAX_REMEMBERED_TAGS || plugins.contains_key(&tag) {
                plugins.insert(tag.clone(), plugin.clone());
            }
        }
        let scalar = if let Some(v) = value.simple_value {
            Some(f64::from(v))
        } else if value.histo.is_some() || value.obsolete_old_style_histogram.is_some() {
            skips.histograms += 1;
            None
        } else if value.image.is_some() {
            skips.images += 1;
            None
        } else if value.audio.is_some() {
            skips.audio += 1;
            None
        } else if let Some(tensor) = &value.tensor {
            let plugin = named.as_deref().or(plugins.get(&tag).map(String::as_str));
            match plugin {
                Some("scalars") => {
                    let v = tensor_scalar(tensor);
                    if v.is_none() {
                        skips.other += 1;
                    }
                    v
                }
                Some("histograms") => {
                    skips.histograms += 1;
                    None
                }
                Some("images") => {
                    skips.images += 1;
                    None
                }
                Some("audio") => {
                    skips.audio += 1;
                    None
                }
                Some("text") => {
                    skips.text += 1;
                    None
                }
                _ => {
                    skips.other += 1;
                    None
                }
            }
        } else {
            skips.other += 1;
            None
        };
        let Some(v) = scalar else { continue };
        if !v.is_finite() || !event.wall_time.is_finite() {
            skips.non_finite += 1;
            continue;
        }
        out.push(Scalar {
            tag,
            step: event.step,
            wall_time: event.wall_time,
            value: v,
        });
    }
    Ok(())
}

/// The value of a one-element float or double tensor.
fn tensor_scalar(t: &TensorProto) -> Option<f64> {
    let one_element = t
        .tensor_shape
        .as_ref()
        .is_none_or(|s| s.dim.iter().all(|d| d.size == 1));
    if !one_element {
        return None;
    }
    match t.dtype {
        DT_FLOAT => match (t.float_val.as_slice(), t.tensor_content.as_slice()) {
            ([v], _) => Some(f64::from(*v)),
            ([], &[a, b, c, d]) => Some(f64::from(f32::from_le_bytes([a, b, c, d]))),
            _ => None,
        },
        DT_DOUBLE => match (t.double_val.as_slice(), t.tensor_content.as_slice()) {
            ([v], _) => Some(*v),
            ([], c) if c.len() == 8 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                Some(f64::from_le_bytes(b))
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_with(value: Value, step: i64) -> Vec<u8> {
        Event {
            wall_time: 1_700_000_000.5,
            step,
            file_version: None,
            summary: Some(Summary { value: vec![value] }),
        }
        .encode_to_vec()
    }

    fn value(tag: &str) -> Value {
        Value {
            tag: tag.as_bytes().to_vec(),
            simple_value: None,
            obsolete_old_style_histogram: None,
            image: None,
            histo: None,
            audio: None,
            tensor: None,
            metadata: None,
        }
    }

    fn plugin(name: &str) -> Option<SummaryMetadata> {
        Some(SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: name.as_bytes().to_vec(),
            }),
        })
    }

    fn tensor(dtype: i32) -> TensorProto {
        TensorProto {
            dtype,
            tensor_shape: None,
            tensor_content: Vec::new(),
            float_val: Vec::new(),
            double_val: Vec::new(),
        }
    }

    fn read(payload: &[u8], plugins: &mut BTreeMap<String, String>) -> (Vec<Scalar>, Skips) {
        let (mut out, mut skips) = (Vec::new(), Skips::default());
        read_event(payload, plugins, &mut out, &mut skips).expect("an event");
        (out, skips)
    }

    #[test]
    fn both_scalar_encodings_and_a_zero() {
        let mut plugins = BTreeMap::new();
        let mut v = value("val/accuracy");
        v.simple_value = Some(0.0);
        let (out, _) = read(&event_with(v, 0), &mut plugins);
        assert_eq!(
            out,
            vec![Scalar {
                tag: "val/accuracy".into(),
                step: 0,
                wall_time: 1_700_000_000.5,
                value: 0.0
            }]
        );
        let mut content = tensor(DT_FLOAT);
        content.tensor_content = 0.5f32.to_le_bytes().to_vec();
        content.tensor_shape = Some(TensorShape { dim: vec![] });
        let mut floats = tensor(DT_FLOAT);
        floats.float_val = vec![0.25];
        let mut doubles = tensor(DT_DOUBLE);
        doubles.double_val = vec![0.1];
        for (t, want) in [(content, 0.5), (floats, 0.25), (doubles, 0.1)] {
            let mut v = value("tf2");
            v.tensor = Some(t);
            v.metadata = plugin("scalars");
            let (out, _) = read(&event_with(v, 7), &mut plugins);
            assert_eq!(out.len(), 1);
            assert_eq!((out[0].step, out[0].value), (7, want));
        }
        // Metadata sent once (TF1 writers): the tag's plugin is remembered.
        let mut t = tensor(DT_FLOAT);
        t.float_val = vec![2.0];
        let mut v = value("tf2");
        v.tensor = Some(t);
        let (out, _) = read(&event_with(v, 8), &mut plugins);
        assert_eq!(out[0].value, 2.0);
    }

    #[test]
    fn non_scalars_are_counted_and_bad_bytes_refused() {
        let mut plugins = BTreeMap::new();
        let mut h = value("w");
        h.histo = Some(Skipped {});
        let mut i = value("img");
        i.image = Some(Skipped {});
        let mut t = value("note/text_summary");
        t.tensor = Some(tensor(7));
        t.metadata = plugin("text");
        let mut wide = value("vec");
        let mut w = tensor(DT_FLOAT);
        w.float_val = vec![1.0, 2.0];
        w.tensor_shape = Some(TensorShape {
            dim: vec![Dim { size: 2 }],
        });
        wide.tensor = Some(w);
        wide.metadata = plugin("scalars");
        let mut nan = value("loss");
        nan.simple_value = Some(f32::NAN);
        let mut skips = Skips::default();
        for v in [h, i, t, wide, nan] {
            let (out, s) = read(&event_with(v, 1), &mut plugins);
            assert!(out.is_empty());
            skips.add(&s);
        }
        let version = Event {
            wall_time: 1.0,
            step: 0,
            file_version: Some(b"brain.Event:2".to_vec()),
            summary: None,
        };
        let (_, s) = read(&version.encode_to_vec(), &mut plugins);
        skips.add(&s);
        assert_eq!(
            skips,
            Skips {
                histograms: 1,
                images: 1,
                audio: 0,
                text: 1,
                other: 1,
                non_finite: 1,
                events_without_summary: 1
            }
        );
        let (mut out, mut s) = (Vec::new(), Skips::default());
        assert!(read_event(b"\xff\xff\xff garbage", &mut plugins, &mut out, &mut s).is_err());
    }
}
