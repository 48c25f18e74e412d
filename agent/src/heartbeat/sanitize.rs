//! Helpers that keep free text and numbers inside the limits
//! `Heartbeat::validate()` enforces, so the server never refuses a heartbeat
//! because of something odd the OS or the driver reported.

use trainyard_core::heartbeat::MAX_TEXT_LEN;

/// Cuts `text` to at most [`MAX_TEXT_LEN`] bytes without splitting a character.
pub(crate) fn truncate_text(mut text: String) -> String {
    if text.len() > MAX_TEXT_LEN {
        let mut end = MAX_TEXT_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// A percentage forced into 0–100; NaN and infinities become 0.
pub(crate) fn clamp_percent(value: f32) -> f32 {
    if value.is_finite() {
        value.clamp(0.0, 100.0)
    } else {
        0.0
    }
}

/// `Some(value)` when it is finite and inside `min..=max`, else `None`: a
/// sensor reading outside physical bounds is noise, not data.
pub(crate) fn plausible(value: f32, min: f32, max: f32) -> Option<f32> {
    (value.is_finite() && value >= min && value <= max).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(MAX_TEXT_LEN);
        let cut = truncate_text(text);
        assert!(cut.len() <= MAX_TEXT_LEN);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(truncate_text("short".into()), "short");
    }

    #[test]
    fn percentages_and_sensor_values_are_kept_in_range() {
        assert_eq!(clamp_percent(f32::NAN), 0.0);
        assert_eq!(clamp_percent(140.0), 100.0);
        assert_eq!(clamp_percent(-3.0), 0.0);
        assert_eq!(plausible(60.0, -50.0, 200.0), Some(60.0));
        assert_eq!(plausible(f32::INFINITY, -50.0, 200.0), None);
        assert_eq!(plausible(500.0, -50.0, 200.0), None);
    }
}
