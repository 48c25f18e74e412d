//! Parsing a heartbeat into the buffers of one that is no longer needed.
//!
//! An 8-GPU heartbeat holds ~30 strings and lists. Parsed fresh, each one is
//! allocated, then freed when the host's next heartbeat replaces it; in the
//! server's ingest profile that churn (and the allocator's consolidation of
//! all those small frees before each large allocation) cost ~10% of a
//! heartbeat's CPU. [`Heartbeat::deserialize_reusing`] writes into an
//! existing value instead: strings are cleared and refilled, lists are
//! refilled element by element, so a heartbeat of the same shape is parsed
//! without allocating.
//!
//! The outcome is exactly that of the derived `Heartbeat::deserialize`: the
//! same fields, defaults for absent ones, and the same errors (unknown
//! fields ignored; a duplicate or missing required field refused). The tests
//! compare both on random and on malformed input. A struct written in
//! positional (array) form, which the derived impl also accepts, is parsed
//! fresh.

use std::fmt;

use serde::de::value::SeqAccessDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor,
};
use serde::Deserialize;

use super::{GpuProcess, GpuStats, Heartbeat};

impl Heartbeat {
    /// Deserializes a heartbeat into `place`, reusing its strings' and
    /// lists' buffers: the same result, or the same error, as
    /// `Heartbeat::deserialize`. After an error `place` holds some mix of
    /// old and new values and should only be reused or dropped.
    pub fn deserialize_reusing<'de, D: Deserializer<'de>>(
        deserializer: D,
        place: &mut Heartbeat,
    ) -> Result<(), D::Error> {
        Reuse(place).deserialize(deserializer)
    }
}

/// A value to deserialize into, in place.
struct Reuse<'a, T>(&'a mut T);

/// A struct's field names (in declaration order, as the derived impl
/// numbers them) and the identifier type its keys parse into.
macro_rules! fields {
    ($name:ident { $($variant:ident = $key:literal),+ $(,)? }) => {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum $name {
            $($variant,)+
            Other,
        }

        impl $name {
            const NAMES: &'static [&'static str] = &[$($key),+];
            const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Marks the field seen; a second time is the derived impl's error.
            fn first_time<E: de::Error>(self, seen: &mut [bool]) -> Result<(), E> {
                if self == $name::Other {
                    return Ok(());
                }
                let i = self as usize;
                if std::mem::replace(&mut seen[i], true) {
                    return Err(E::duplicate_field(Self::NAMES[i]));
                }
                Ok(())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct FieldVisitor;

                impl<'de> Visitor<'de> for FieldVisitor {
                    type Value = $name;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("field identifier")
                    }

                    fn visit_u64<E: de::Error>(self, index: u64) -> Result<$name, E> {
                        Ok(usize::try_from(index)
                            .ok()
                            .and_then(|i| $name::ALL.get(i).copied())
                            .unwrap_or($name::Other))
                    }

                    fn visit_str<E: de::Error>(self, key: &str) -> Result<$name, E> {
                        Ok(match key {
                            $($key => $name::$variant,)+
                            _ => $name::Other,
                        })
                    }

                    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<$name, E> {
                        Ok(match key {
                            $(k if k == $key.as_bytes() => $name::$variant,)+
                            _ => $name::Other,
                        })
                    }
                }

                deserializer.deserialize_identifier(FieldVisitor)
            }
        }
    };
}

fields!(HeartbeatField {
    ProtocolVersion = "protocol_version",
    HostId = "host_id",
    Hostname = "hostname",
    AgentVersion = "agent_version",
    System = "system",
    Gpus = "gpus",
    GpuError = "gpu_error",
});

fields!(GpuField {
    Index = "index",
    Uuid = "uuid",
    Name = "name",
    UtilizationPercent = "utilization_percent",
    MemoryUsedBytes = "memory_used_bytes",
    MemoryTotalBytes = "memory_total_bytes",
    TemperatureC = "temperature_c",
    PowerWatts = "power_watts",
    PowerLimitWatts = "power_limit_watts",
    Processes = "processes",
});

fields!(ProcessField {
    Pid = "pid",
    Name = "name",
    MemoryBytes = "memory_bytes",
});

// ---- Heartbeat ---------------------------------------------------------

impl<'de> DeserializeSeed<'de> for Reuse<'_, Heartbeat> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("Heartbeat", HeartbeatField::NAMES, self)
    }
}

impl<'de> Visitor<'de> for Reuse<'_, Heartbeat> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Heartbeat")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        *self.0 = Heartbeat::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use HeartbeatField as F;
        let hb = self.0;
        let mut seen = [false; F::NAMES.len()];
        while let Some(field) = map.next_key::<F>()? {
            field.first_time(&mut seen)?;
            match field {
                F::ProtocolVersion => hb.protocol_version = map.next_value()?,
                F::HostId => map.next_value_seed(Reuse(&mut hb.host_id))?,
                F::Hostname => map.next_value_seed(Reuse(&mut hb.hostname))?,
                F::AgentVersion => map.next_value_seed(Reuse(&mut hb.agent_version))?,
                F::System => hb.system = map.next_value()?,
                F::Gpus => map.next_value_seed(Reuse(&mut hb.gpus))?,
                F::GpuError => map.next_value_seed(Reuse(&mut hb.gpu_error))?,
                F::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // Absent: the derived impl's error for required fields (checked in
        // declaration order), the default for the others.
        for (field, was_seen) in F::ALL.iter().zip(seen) {
            if was_seen {
                continue;
            }
            match field {
                F::ProtocolVersion => return Err(de::Error::missing_field("protocol_version")),
                F::HostId => return Err(de::Error::missing_field("host_id")),
                F::Hostname => hb.hostname.clear(),
                F::AgentVersion => hb.agent_version.clear(),
                F::System => hb.system = Default::default(),
                F::Gpus => hb.gpus.clear(),
                F::GpuError => hb.gpu_error = None,
                F::Other => {}
            }
        }
        Ok(())
    }
}

// ---- GpuStats ----------------------------------------------------------

impl<'de> DeserializeSeed<'de> for Reuse<'_, GpuStats> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("GpuStats", GpuField::NAMES, self)
    }
}

impl<'de> Visitor<'de> for Reuse<'_, GpuStats> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct GpuStats")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        *self.0 = GpuStats::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use GpuField as F;
        let gpu = self.0;
        let mut seen = [false; F::NAMES.len()];
        while let Some(field) = map.next_key::<F>()? {
            field.first_time(&mut seen)?;
            match field {
                F::Index => gpu.index = map.next_value()?,
                F::Uuid => map.next_value_seed(Reuse(&mut gpu.uuid))?,
                F::Name => map.next_value_seed(Reuse(&mut gpu.name))?,
                F::UtilizationPercent => gpu.utilization_percent = map.next_value()?,
                F::MemoryUsedBytes => gpu.memory_used_bytes = map.next_value()?,
                F::MemoryTotalBytes => gpu.memory_total_bytes = map.next_value()?,
                F::TemperatureC => gpu.temperature_c = map.next_value()?,
                F::PowerWatts => gpu.power_watts = map.next_value()?,
                F::PowerLimitWatts => gpu.power_limit_watts = map.next_value()?,
                F::Processes => map.next_value_seed(Reuse(&mut gpu.processes))?,
                F::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (field, was_seen) in F::ALL.iter().zip(seen) {
            if was_seen {
                continue;
            }
            match field {
                F::Index => return Err(de::Error::missing_field("index")),
                F::Uuid => gpu.uuid.clear(),
                F::Name => gpu.name.clear(),
                F::UtilizationPercent => gpu.utilization_percent = 0.0,
                F::MemoryUsedBytes => gpu.memory_used_bytes = 0,
                F::MemoryTotalBytes => gpu.memory_total_bytes = 0,
                F::TemperatureC => gpu.temperature_c = None,
                F::PowerWatts => gpu.power_watts = None,
                F::PowerLimitWatts => gpu.power_limit_watts = None,
                F::Processes => gpu.processes.clear(),
                F::Other => {}
            }
        }
        Ok(())
    }
}

// ---- GpuProcess --------------------------------------------------------

impl<'de> DeserializeSeed<'de> for Reuse<'_, GpuProcess> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("GpuProcess", ProcessField::NAMES, self)
    }
}

impl<'de> Visitor<'de> for Reuse<'_, GpuProcess> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct GpuProcess")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        *self.0 = GpuProcess::deserialize(SeqAccessDeserializer::new(seq))?;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use ProcessField as F;
        let process = self.0;
        let mut seen = [false; F::NAMES.len()];
        while let Some(field) = map.next_key::<F>()? {
            field.first_time(&mut seen)?;
            match field {
                F::Pid => process.pid = map.next_value()?,
                F::Name => map.next_value_seed(Reuse(&mut process.name))?,
                F::MemoryBytes => process.memory_bytes = map.next_value()?,
                F::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        for (field, was_seen) in F::ALL.iter().zip(seen) {
            if was_seen {
                continue;
            }
            match field {
                F::Pid => return Err(de::Error::missing_field("pid")),
                F::Name => process.name.clear(),
                F::MemoryBytes => process.memory_bytes = 0,
                F::Other => {}
            }
        }
        Ok(())
    }
}

// ---- lists, strings, optional strings ----------------------------------

/// A list is refilled element by element: existing elements are parsed in
/// place, extra ones appended, leftovers dropped.
impl<'de, T> DeserializeSeed<'de> for Reuse<'_, Vec<T>>
where
    T: Deserialize<'de>,
    for<'a> Reuse<'a, T>: DeserializeSeed<'de, Value = ()>,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T> Visitor<'de> for Reuse<'_, Vec<T>>
where
    T: Deserialize<'de>,
    for<'a> Reuse<'a, T>: DeserializeSeed<'de, Value = ()>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let list = self.0;
        let mut filled = 0;
        loop {
            let more = match list.get_mut(filled) {
                Some(slot) => seq.next_element_seed(Reuse(slot))?.is_some(),
                None => match seq.next_element::<T>()? {
                    Some(item) => {
                        list.push(item);
                        true
                    }
                    None => false,
                },
            };
            if !more {
                break;
            }
            filled += 1;
        }
        list.truncate(filled);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Reuse<'_, String> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_string(self)
    }
}

/// Accepts what serde's own `String` visitor accepts, with its messages.
impl<'de> Visitor<'de> for Reuse<'_, String> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.clear();
        self.0.push_str(text);
        Ok(())
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<(), E> {
        *self.0 = text;
        Ok(())
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<(), E> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.visit_str(text),
            Err(_) => Err(E::invalid_value(Unexpected::Bytes(bytes), &self)),
        }
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<(), E> {
        match String::from_utf8(bytes) {
            Ok(text) => self.visit_string(text),
            Err(e) => Err(E::invalid_value(Unexpected::Bytes(e.as_bytes()), &self)),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Reuse<'_, Option<String>> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Reuse<'_, Option<String>> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        *self.0 = None;
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        Reuse(self.0.get_or_insert_with(String::new)).deserialize(deserializer)
    }
}
