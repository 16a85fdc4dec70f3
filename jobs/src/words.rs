//! Enums stored and served as words (`queued`, `payments_summary`): one declaration each, with
//! the conversions derived (strum: `Display`, `FromStr`, `&'static str`, every variant; serde;
//! poem-openapi for the API's schema) instead of written by hand per enum.

/// Declares an enum whose variants are stored as the given words.
macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
            strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray,
        )]
        #[cfg_attr(feature = "openapi", derive(poem_openapi::Enum))]
        #[cfg_attr(feature = "openapi", oai(rename_all = "snake_case"))]
        #[serde(rename_all = "snake_case")]
        #[strum(parse_err_ty = String, parse_err_fn = $crate::words::unknown)]
        pub enum $name {
            $(
                $(#[$vdoc])*
                #[strum(serialize = $text)]
                #[serde(rename = $text)]
                #[cfg_attr(feature = "openapi", oai(rename = $text))]
                $variant
            ),+
        }

        impl $name {
            /// Every value, in declaration (lifecycle) order.
            pub const ALL: &'static [$name] = <$name as strum::VariantArray>::VARIANTS;

            /// The stored and serialised word.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}
pub(crate) use word_enum;

/// The error of parsing a word no variant has (a corrupt row, a newer build's value).
pub fn unknown(word: &str) -> String {
    format!("unknown value `{word}`")
}
