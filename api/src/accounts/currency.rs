//! Currencies: ISO 4217 codes and the number of decimals of each one's minor unit
//! (amounts are counted in that unit: cents for EUR, yen for JPY, fils for KWD).

/// ISO 4217's active codes for money (not funds, metals or testing codes), all with a
/// minor unit of two decimals but for those in [`EXPONENTS`].
const CODES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND \
BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN \
ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD \
JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT \
MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR \
RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND \
TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// The codes whose minor unit is not two decimals.
const EXPONENTS: &[(&str, u8)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
];

/// An ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// The currency with `code` (upper case, as ISO 4217 writes it).
    pub fn from_code(code: &str) -> Option<Self> {
        let code = CODES.split_whitespace().find(|known| *known == code)?;
        let exponent = EXPONENTS
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(2, |(_, e)| *e);
        Some(Self { code, exponent })
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// How many decimals the minor unit has: 2 for EUR (1 EUR = 100 minor units).
    pub fn exponent(self) -> u8 {
        self.exponent
    }
}

/// The currencies accounts may be opened in (`CURRENCIES`), in the order configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currencies(Vec<Currency>);

impl Currencies {
    /// A comma-separated list of ISO 4217 codes, e.g. `EUR,USD`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut currencies = Vec::new();
        for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let currency = Currency::from_code(&code.to_ascii_uppercase()).ok_or_else(|| {
                format!("{code:?} is not an ISO 4217 currency code (such as EUR or USD)")
            })?;
            if !currencies.contains(&currency) {
                currencies.push(currency);
            }
        }
        if currencies.is_empty() {
            return Err(
                "expected a comma-separated list of ISO 4217 codes, such as EUR,USD".into(),
            );
        }
        Ok(Self(currencies))
    }

    /// The configured currency named `code` (any case), or a message listing the choices.
    pub fn find(&self, code: &str) -> Result<Currency, String> {
        let wanted = code.trim().to_ascii_uppercase();
        self.0
            .iter()
            .copied()
            .find(|c| c.code == wanted)
            .ok_or_else(|| {
                format!(
                    "{code:?} is not offered; expected one of: {}",
                    self.codes().join(", ")
                )
            })
    }

    pub fn codes(&self) -> Vec<&'static str> {
        self.0.iter().map(|c| c.code).collect()
    }

    /// The offered currencies, in the order configured.
    pub fn all(&self) -> &[Currency] {
        &self.0
    }
}

impl Default for Currencies {
    fn default() -> Self {
        Self::parse("EUR,USD,GBP").unwrap_or_else(|_| Self(Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_each_currencys_minor_unit() {
        assert_eq!(Currency::from_code("EUR").map(Currency::exponent), Some(2));
        assert_eq!(Currency::from_code("JPY").map(Currency::exponent), Some(0));
        assert_eq!(Currency::from_code("KWD").map(Currency::exponent), Some(3));
        assert_eq!(Currency::from_code("XXX"), None);
        assert_eq!(Currency::from_code("eur"), None);
        for (code, _) in EXPONENTS {
            assert!(
                Currency::from_code(code).is_some(),
                "{code} is not in CODES"
            );
        }
    }

    #[test]
    fn a_list_is_read_in_any_case_without_repeats() {
        let list = Currencies::parse(" eur, JPY ,EUR,").unwrap();
        assert_eq!(list.codes(), ["EUR", "JPY"]);
        assert_eq!(list.find("jpy").map(Currency::exponent), Ok(0));
        assert_eq!(
            list.find("USD"),
            Err("\"USD\" is not offered; expected one of: EUR, JPY".to_owned())
        );
    }

    #[test]
    fn a_bad_list_names_the_bad_code() {
        assert_eq!(
            Currencies::parse("EUR,EURO"),
            Err("\"EURO\" is not an ISO 4217 currency code (such as EUR or USD)".to_owned())
        );
        assert!(Currencies::parse(" , ").is_err());
    }
}
