//! SNAP response codes: `responseCode` = HTTP status (3) + service code (2) + case code (2).
//!
//! [`Case`] is the complete generic case table published on every API page of the SNAP
//! developer site (63 rows). [`ServiceCode`] is the two-digit code of the API being
//! answered, and [`ResponseCode`] joins the two, e.g. `4017300` is
//! [`Case::Unauthorized`] on [`ServiceCode::ACCESS_TOKEN_B2B`]. Inbound codes that are
//! not in the table (some providers invent their own) parse as [`RawResponseCode`].

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest `responseMessage` SNAP allows (`String(150)`).
pub const MAX_RESPONSE_MESSAGE_CHARS: usize = 150;

/// Two-digit SNAP service code (`00`–`99`) of the API a response answers.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct ServiceCode(u8);

macro_rules! service_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal;)*) => {
        impl ServiceCode {
            $($(#[$doc])* pub const $name: ServiceCode = ServiceCode($code);)*

            /// Every named service code, in numeric order.
            pub const KNOWN: &'static [ServiceCode] = &[$(ServiceCode::$name),*];

            /// The constant's name for a code in the published table, e.g. `"DEBIT_PAYMENT"`.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($code => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

service_codes! {
    /// `00`: no specific service (generic errors, provider validation endpoints).
    GENERIC = 0;
    /// `01` Card Registration.
    CARD_REGISTRATION = 1;
    /// `02` Card Registration – Set Limit.
    CARD_REGISTRATION_SET_LIMIT = 2;
    /// `03` Card Registration Inquiry.
    CARD_REGISTRATION_INQUIRY = 3;
    /// `04` Verify OTP (Direct Integration).
    VERIFY_OTP = 4;
    /// `05` Card Registration Unbinding.
    CARD_REGISTRATION_UNBINDING = 5;
    /// `06` Account Creation.
    ACCOUNT_CREATION = 6;
    /// `07` Account Binding.
    ACCOUNT_BINDING = 7;
    /// `08` Account Binding Inquiry.
    ACCOUNT_INQUIRY_BINDING = 8;
    /// `09` Account Unbinding.
    ACCOUNT_UNBINDING = 9;
    /// `10` Get OAuth URL (`/get-auth-code`).
    GET_AUTH_CODE = 10;
    /// `11` Balance Inquiry.
    BALANCE_INQUIRY = 11;
    /// `12` Transaction History List.
    TRANSACTION_HISTORY_LIST = 12;
    /// `13` Transaction History Detail.
    TRANSACTION_HISTORY_DETAIL = 13;
    /// `14` Bank Statement.
    BANK_STATEMENT = 14;
    /// `15` Internal Account Inquiry.
    INTERNAL_ACCOUNT_INQUIRY = 15;
    /// `16` External Account Inquiry.
    EXTERNAL_ACCOUNT_INQUIRY = 16;
    /// `17` Intrabank Transfer.
    INTRABANK_TRANSFER = 17;
    /// `18` Interbank Transfer.
    INTERBANK_TRANSFER = 18;
    /// `19` Request for Payment.
    REQUEST_FOR_PAYMENT = 19;
    /// `20` Interbank Bulk Transfer.
    INTERBANK_BULK_TRANSFER = 20;
    /// `21` Interbank Bulk Transfer – Notification.
    INTERBANK_BULK_TRANSFER_NOTIFY = 21;
    /// `22` Transfer RTGS.
    TRANSFER_RTGS = 22;
    /// `23` Transfer SKNBI.
    TRANSFER_SKNBI = 23;
    /// `24` Virtual Account – Inquiry.
    VA_INQUIRY = 24;
    /// `25` Virtual Account – Payment (payment flag).
    VA_PAYMENT = 25;
    /// `26` Virtual Account – Inquiry Status.
    VA_INQUIRY_STATUS = 26;
    /// `27` Virtual Account – Create VA.
    VA_CREATE = 27;
    /// `28` Virtual Account – Update VA.
    VA_UPDATE = 28;
    /// `29` Virtual Account – Update Status VA.
    VA_UPDATE_STATUS = 29;
    /// `30` Virtual Account – Inquiry VA.
    VA_INQUIRY_VA = 30;
    /// `31` Virtual Account – Delete VA.
    VA_DELETE = 31;
    /// `32` VA – Inquiry Payment to VA from Intra Bank.
    VA_INQUIRY_INTRABANK = 32;
    /// `33` VA – Payment to VA from Intra Bank.
    VA_PAYMENT_INTRABANK = 33;
    /// `34` VA – Notification for Payment to VA from Intra Bank.
    VA_NOTIFY_PAYMENT_INTRABANK = 34;
    /// `35` VA – Get Report.
    VA_REPORT = 35;
    /// `36` Transaction Status Inquiry (bank transfer).
    TRANSFER_STATUS_INQUIRY = 36;
    /// `37` Account Inquiry – Customer Top Up.
    EMONEY_ACCOUNT_INQUIRY = 37;
    /// `38` Customer Top Up.
    EMONEY_TOPUP = 38;
    /// `39` Customer Top Up Inquiry Status.
    EMONEY_TOPUP_STATUS = 39;
    /// `40` Submit Bulk Cash In.
    EMONEY_BULK_CASHIN_PAYMENT = 40;
    /// `41` Notify Bulk Cash In.
    EMONEY_BULK_CASHIN_NOTIFY = 41;
    /// `42` Transfer to Bank – Account Inquiry.
    EMONEY_BANK_ACCOUNT_INQUIRY = 42;
    /// `43` Transfer to Bank – Payment Transaction.
    EMONEY_TRANSFER_BANK = 43;
    /// `44` Transfer to OTC – Create Payment.
    EMONEY_OTC_CASHOUT = 44;
    /// `45` Transfer to OTC – Transfer Status.
    EMONEY_OTC_STATUS = 45;
    /// `46` Transfer to OTC – Cancel Payment.
    EMONEY_OTC_CANCEL = 46;
    /// `47` Generate QR MPM.
    QR_MPM_GENERATE = 47;
    /// `48` Decode QR MPM.
    QR_MPM_DECODE = 48;
    /// `49` Payment Redirect (Apply OTT), `/qr/apply-ott` (DANA's apply OTT).
    APPLY_OTT = 49;
    /// `50` Payment – Host to Host (MPM).
    QR_MPM_PAYMENT = 50;
    /// `51` Query Payment (MPM).
    QR_MPM_QUERY = 51;
    /// `52` Payment Notification (MPM).
    QR_MPM_NOTIFY = 52;
    /// `53` Transaction Status Inquiry (non-bank).
    QR_MPM_STATUS = 53;
    /// `54` Direct Debit Payment.
    DEBIT_PAYMENT = 54;
    /// `55` Direct Debit Payment Status.
    DEBIT_STATUS = 55;
    /// `56` Direct Debit Payment Notification.
    DEBIT_NOTIFY = 56;
    /// `57` Direct Debit Payment Cancel.
    DEBIT_CANCEL = 57;
    /// `58` Direct Debit Payment Refund.
    DEBIT_REFUND = 58;
    /// `59` Generate QR CPM.
    QR_CPM_GENERATE = 59;
    /// `60` CPM Payment (DANA also uses it for its transaction list).
    QR_CPM_PAYMENT = 60;
    /// `61` Query Payment (CPM).
    QR_CPM_QUERY = 61;
    /// `62` Cancel Payment (CPM).
    QR_CPM_CANCEL = 62;
    /// `63` Auth Payment.
    AUTH_PAYMENT = 63;
    /// `64` Auth Payment Query.
    AUTH_QUERY = 64;
    /// `65` Auth Capture.
    AUTH_CAPTURE = 65;
    /// `66` Auth Capture Query.
    AUTH_CAPTURE_QUERY = 66;
    /// `67` Auth Void.
    AUTH_VOID = 67;
    /// `68` Auth Void Query.
    AUTH_VOID_QUERY = 68;
    /// `69` Auth Refund.
    AUTH_REFUND = 69;
    /// `70` Registrasi e-Mandate (BI-FAST Direct Debit).
    DEBIT_FAST_EMANDATE = 70;
    /// `71` Trigger Direct Debit Transfer (BI-FAST).
    DEBIT_FAST_PAYMENT = 71;
    /// `72` Notify (BI-FAST Direct Debit).
    DEBIT_FAST_NOTIFY = 72;
    /// `73` Access Token B2B.
    ACCESS_TOKEN_B2B = 73;
    /// `74` Access Token B2B2C (DANA: apply token).
    ACCESS_TOKEN_B2B2C = 74;
    /// `75` SKNBI – Notification.
    SKNBI_NOTIFY = 75;
    /// `76` RTGS – Notification.
    RTGS_NOTIFY = 76;
    /// `77` Cancel Payment (MPM).
    QR_MPM_CANCEL = 77;
    /// `78` Refund Payment (MPM).
    QR_MPM_REFUND = 78;
    /// `79` Payment Notification (CPM).
    QR_CPM_NOTIFY = 79;
    /// `80` Refund Payment (CPM).
    QR_CPM_REFUND = 80;
    /// `81` OTP.
    OTP = 81;
}

impl ServiceCode {
    /// The code `code`, or `None` if it does not fit the two-digit slot (above 99).
    pub const fn new(code: u8) -> Option<ServiceCode> {
        if code <= 99 {
            Some(ServiceCode(code))
        } else {
            None
        }
    }

    /// The numeric code (`0..=99`).
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for ServiceCode {
    type Error = ResponseCodeError;

    fn try_from(code: u8) -> Result<ServiceCode, ResponseCodeError> {
        ServiceCode::new(code).ok_or(ResponseCodeError::ServiceOutOfRange)
    }
}

impl fmt::Display for ServiceCode {
    /// Two digits, zero-padded (`"07"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl FromStr for ServiceCode {
    type Err = ResponseCodeError;

    /// Parses exactly two ASCII digits (`"07"`), as in the `serviceCode` body field.
    fn from_str(s: &str) -> Result<ServiceCode, ResponseCodeError> {
        match s.as_bytes() {
            [a, b] => Ok(ServiceCode(two_digits(*a, *b)?)),
            _ => Err(ResponseCodeError::ServiceLength),
        }
    }
}

impl Serialize for ServiceCode {
    /// Serialises as the two-digit string of the `serviceCode` body field (`"54"`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ServiceCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ServiceCode, D::Error> {
        struct ServiceVisitor;

        impl Visitor<'_> for ServiceVisitor {
            type Value = ServiceCode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a two-digit SNAP service code string, e.g. \"54\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ServiceCode, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(ServiceVisitor)
    }
}

fn digit(b: u8) -> Result<u8, ResponseCodeError> {
    if b.is_ascii_digit() {
        Ok(b - b'0')
    } else {
        Err(ResponseCodeError::NonDigit)
    }
}

fn two_digits(a: u8, b: u8) -> Result<u8, ResponseCodeError> {
    Ok(digit(a)? * 10 + digit(b)?)
}

macro_rules! case_table {
    ($($(#[$doc:meta])* $variant:ident = ($http:literal, $case:literal, $msg:literal, $detail:literal);)*) => {
        /// One row of the SNAP case table: an HTTP status plus a two-digit case code.
        ///
        /// The same case means the same thing on every service; [`ResponseCode`] adds the
        /// service slot.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Case {
            $($(#[$doc])* $variant,)*
        }

        /// Number of rows in the case table.
        const CASE_COUNT: usize = [$(stringify!($variant)),*].len();

        impl Case {
            /// Every row of the published table, in table order.
            pub const ALL: [Case; CASE_COUNT] = [$(Case::$variant),*];

            /// The HTTP status this case is sent with (the first three digits of the code).
            pub const fn http_status(self) -> u16 {
                match self { $(Case::$variant => $http,)* }
            }

            /// The two-digit case code (the last two digits of the code).
            pub const fn case_code(self) -> u8 {
                match self { $(Case::$variant => $case,)* }
            }

            /// The published `responseMessage` with placeholders removed and spelling fixed.
            pub const fn message(self) -> &'static str {
                match self { $(Case::$variant => $msg,)* }
            }

            /// Whether the published message has a placeholder (`{field name}`, `[reason]`)
            /// that [`ResponseCode::message`] fills with a detail.
            pub const fn takes_detail(self) -> bool {
                match self { $(Case::$variant => $detail,)* }
            }
        }
    };
}

case_table! {
    /// `200xx00` Successful.
    Successful = (200, 0, "Successful", false);
    /// `202xx00` Request In Progress: transaction still being processed.
    InProgress = (202, 0, "Request In Progress", false);
    /// `400xx00` Bad Request: general request failure, including message parsing.
    BadRequest = (400, 0, "Bad Request", false);
    /// `400xx01` Invalid Field Format `{field name}`.
    InvalidFieldFormat = (400, 1, "Invalid Field Format", true);
    /// `400xx02` Invalid Mandatory Field `{field name}`: missing or invalid mandatory field.
    InvalidMandatoryField = (400, 2, "Invalid Mandatory Field", true);
    /// `401xx00` Unauthorized. `[reason]`: signature, unknown client, and similar.
    Unauthorized = (401, 0, "Unauthorized.", true);
    /// `401xx01` Invalid Token (B2B): the access token does not exist or expired.
    InvalidToken = (401, 1, "Invalid Token (B2B)", false);
    /// `401xx02` Invalid Customer Token: the B2B2C token does not exist or expired.
    InvalidCustomerToken = (401, 2, "Invalid Customer Token", false);
    /// `401xx03` Token Not Found (B2B): no access token in the request.
    TokenNotFound = (401, 3, "Token Not Found (B2B)", false);
    /// `401xx04` Customer Token Not Found: no B2B2C token in the request.
    CustomerTokenNotFound = (401, 4, "Customer Token Not Found", false);
    /// `403xx00` Transaction Expired.
    TransactionExpired = (403, 0, "Transaction Expired", false);
    /// `403xx01` Feature Not Allowed `[Reason]`: the merchant may not call this API.
    FeatureNotAllowed = (403, 1, "Feature Not Allowed", true);
    /// `403xx02` Exceeds Transaction Amount Limit.
    ExceedsTransactionAmountLimit = (403, 2, "Exceeds Transaction Amount Limit", false);
    /// `403xx03` Suspected Fraud.
    SuspectedFraud = (403, 3, "Suspected Fraud", false);
    /// `403xx04` Activity Count Limit Exceeded: transaction frequency limit.
    ActivityCountLimitExceeded = (403, 4, "Activity Count Limit Exceeded", false);
    /// `403xx05` Do Not Honor: account or user status is abnormal.
    DoNotHonor = (403, 5, "Do Not Honor", false);
    /// `403xx06` Feature Not Allowed At This Time. `[reason]`: cut-off in progress.
    FeatureNotAllowedAtThisTime = (403, 6, "Feature Not Allowed At This Time.", true);
    /// `403xx07` Card Blocked.
    CardBlocked = (403, 7, "Card Blocked", false);
    /// `403xx08` Card Expired.
    CardExpired = (403, 8, "Card Expired", false);
    /// `403xx09` Dormant Account.
    DormantAccount = (403, 9, "Dormant Account", false);
    /// `403xx10` Need To Set Token Limit.
    NeedToSetTokenLimit = (403, 10, "Need To Set Token Limit", false);
    /// `403xx11` OTP Blocked.
    OtpBlocked = (403, 11, "OTP Blocked", false);
    /// `403xx12` OTP Lifetime Expired.
    OtpLifetimeExpired = (403, 12, "OTP Lifetime Expired", false);
    /// `403xx13` OTP Sent To Cardholder (published as "Cardholer").
    OtpSentToCardholder = (403, 13, "OTP Sent To Cardholder", false);
    /// `403xx14` Insufficient Funds.
    InsufficientFunds = (403, 14, "Insufficient Funds", false);
    /// `403xx15` Transaction Not Permitted.`[reason]`
    TransactionNotPermitted = (403, 15, "Transaction Not Permitted.", true);
    /// `403xx16` Suspend Transaction.
    SuspendTransaction = (403, 16, "Suspend Transaction", false);
    /// `403xx17` Token Limit Exceeded: amount exceeds the token limit set earlier.
    TokenLimitExceeded = (403, 17, "Token Limit Exceeded", false);
    /// `403xx18` Inactive Card/Account/Customer.
    InactiveCardAccountCustomer = (403, 18, "Inactive Card/Account/Customer", false);
    /// `403xx19` Merchant Blacklisted.
    MerchantBlacklisted = (403, 19, "Merchant Blacklisted", false);
    /// `403xx20` Merchant Limit Exceed: the merchant's daily aggregate limit.
    MerchantLimitExceed = (403, 20, "Merchant Limit Exceed", false);
    /// `403xx21` Set Limit Not Allowed.
    SetLimitNotAllowed = (403, 21, "Set Limit Not Allowed", false);
    /// `403xx22` Token Limit Invalid.
    TokenLimitInvalid = (403, 22, "Token Limit Invalid", false);
    /// `403xx23` Account Limit Exceed: the account's daily aggregate limit.
    AccountLimitExceed = (403, 23, "Account Limit Exceed", false);
    /// `404xx00` Invalid Transaction Status.
    InvalidTransactionStatus = (404, 0, "Invalid Transaction Status", false);
    /// `404xx01` Transaction Not Found.
    TransactionNotFound = (404, 1, "Transaction Not Found", false);
    /// `404xx02` Invalid Routing.
    InvalidRouting = (404, 2, "Invalid Routing", false);
    /// `404xx03` Bank Not Supported By Switch.
    BankNotSupportedBySwitch = (404, 3, "Bank Not Supported By Switch", false);
    /// `404xx04` Transaction Cancelled: cancelled by the customer.
    TransactionCancelled = (404, 4, "Transaction Cancelled", false);
    /// `404xx05` Merchant Is Not Registered For Card Registration Services.
    MerchantNotRegisteredForCardRegistration = (404, 5, "Merchant Is Not Registered For Card Registration Services", false);
    /// `404xx06` Need To Request OTP.
    NeedToRequestOtp = (404, 6, "Need To Request OTP", false);
    /// `404xx07` Journey Not Found.
    JourneyNotFound = (404, 7, "Journey Not Found", false);
    /// `404xx08` Invalid Merchant: does not exist or status abnormal.
    InvalidMerchant = (404, 8, "Invalid Merchant", false);
    /// `404xx09` No Issuer.
    NoIssuer = (404, 9, "No Issuer", false);
    /// `404xx10` Invalid API Transition within a journey.
    InvalidApiTransition = (404, 10, "Invalid API Transition", false);
    /// `404xx11` Invalid Card/Account/Customer `[info]`/Virtual Account.
    InvalidCardAccountCustomer = (404, 11, "Invalid Card/Account/Customer/Virtual Account", true);
    /// `404xx12` Invalid Bill/Virtual Account `[Reason]`: blocked, suspended or not found.
    InvalidBill = (404, 12, "Invalid Bill/Virtual Account", true);
    /// `404xx13` Invalid Amount.
    InvalidAmount = (404, 13, "Invalid Amount", false);
    /// `404xx14` Paid Bill.
    PaidBill = (404, 14, "Paid Bill", false);
    /// `404xx15` Invalid OTP.
    InvalidOtp = (404, 15, "Invalid OTP", false);
    /// `404xx16` Partner Not Found.
    PartnerNotFound = (404, 16, "Partner Not Found", false);
    /// `404xx17` Invalid Terminal.
    InvalidTerminal = (404, 17, "Invalid Terminal", false);
    /// `404xx18` Inconsistent Request: same reference, different parameters.
    InconsistentRequest = (404, 18, "Inconsistent Request", false);
    /// `404xx19` Invalid Bill/Virtual Account: the bill or VA has expired.
    ExpiredBill = (404, 19, "Invalid Bill/Virtual Account", false);
    /// `405xx00` Requested Function Is Not Supported.
    RequestedFunctionNotSupported = (405, 0, "Requested Function Is Not Supported", false);
    /// `405xx01` Requested Operation Is Not Allowed (published as "Opearation").
    RequestedOperationNotAllowed = (405, 1, "Requested Operation Is Not Allowed", false);
    /// `409xx00` Conflict: `X-EXTERNAL-ID` reused on the same day.
    Conflict = (409, 0, "Conflict", false);
    /// `409xx01` Duplicate partnerReferenceNo: already processed successfully.
    DuplicatePartnerReferenceNo = (409, 1, "Duplicate partnerReferenceNo", false);
    /// `429xx00` Too Many Requests.
    TooManyRequests = (429, 0, "Too Many Requests", false);
    /// `500xx00` General Error.
    GeneralError = (500, 0, "General Error", false);
    /// `500xx01` Internal Server Error.
    InternalServerError = (500, 1, "Internal Server Error", false);
    /// `500xx02` External Server Error: backend failure.
    ExternalServerError = (500, 2, "External Server Error", false);
    /// `504xx00` Timeout from the issuer.
    Timeout = (504, 0, "Timeout", false);
}

impl Case {
    /// The case with this HTTP status and case code, if the table has one.
    pub fn from_parts(http: u16, case: u8) -> Option<Case> {
        Case::ALL
            .into_iter()
            .find(|c| c.http_status() == http && c.case_code() == case)
    }

    /// Whether this is a 2xx (successful or in-progress) case.
    pub const fn is_success(self) -> bool {
        self.http_status() / 100 == 2
    }
}

/// Why a response code string was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponseCodeError {
    /// Not exactly 7 characters.
    #[error("response code must be exactly 7 digits (HTTP status + service + case)")]
    Length,
    /// A service code string that is not exactly 2 characters.
    #[error("service code must be exactly 2 digits")]
    ServiceLength,
    /// A character that is not an ASCII digit.
    #[error("response code may contain only digits")]
    NonDigit,
    /// A numeric service code above 99.
    #[error("service code must be between 00 and 99")]
    ServiceOutOfRange,
    /// Well-formed, but the HTTP status and case code are not a row of the SNAP table.
    #[error("no SNAP case {case:02} for HTTP status {http}")]
    UnknownCase {
        /// The HTTP status digits.
        http: u16,
        /// The case code digits.
        case: u8,
    },
}

/// A well-formed 7-digit code whose case may be outside the SNAP table (e.g. DANA's
/// `2005501` or `4085000`); use it to read other parties' responses defensively.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RawResponseCode {
    /// The HTTP status digits (`100..=999`).
    pub http: u16,
    /// The service code slot.
    pub service: ServiceCode,
    /// The case code digits.
    pub case: u8,
}

impl FromStr for RawResponseCode {
    type Err = ResponseCodeError;

    fn from_str(s: &str) -> Result<RawResponseCode, ResponseCodeError> {
        let [h1, h2, h3, s1, s2, c1, c2] = s.as_bytes() else {
            return Err(ResponseCodeError::Length);
        };
        let http = u16::from(digit(*h1)?) * 100 + u16::from(two_digits(*h2, *h3)?);
        Ok(RawResponseCode {
            http,
            service: ServiceCode(two_digits(*s1, *s2)?),
            case: two_digits(*c1, *c2)?,
        })
    }
}

impl fmt::Display for RawResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}{}{:02}", self.http, self.service, self.case)
    }
}

/// A SNAP `responseCode`: a [`Case`] answered on a [`ServiceCode`], shown as 7 digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ResponseCode {
    /// The service slot: the code of the API being answered.
    pub service: ServiceCode,
    /// The row of the case table.
    pub case: Case,
}

impl ResponseCode {
    /// `case` answered on `service`.
    pub const fn new(service: ServiceCode, case: Case) -> ResponseCode {
        ResponseCode { service, case }
    }

    /// The HTTP status to send, equal to the first three digits of the code.
    pub const fn http_status(&self) -> u16 {
        self.case.http_status()
    }

    /// The `responseMessage` for this code.
    ///
    /// Rows with a placeholder ([`Case::takes_detail`]) append `" " + detail`, e.g.
    /// `"Invalid Field Format X-TIMESTAMP"` or `"Unauthorized. Invalid Signature"`.
    /// Other rows ignore `detail`. A blank detail counts as none. The result is cut to
    /// SNAP's 150-character limit.
    pub fn message(&self, detail: Option<&str>) -> String {
        let base = self.case.message();
        let detail = detail.map(str::trim).filter(|d| !d.is_empty());
        let full = match detail {
            Some(d) if self.case.takes_detail() => format!("{base} {d}"),
            _ => base.to_owned(),
        };
        match full.char_indices().nth(MAX_RESPONSE_MESSAGE_CHARS) {
            Some((cut, _)) => full.get(..cut).unwrap_or(base).to_owned(),
            None => full,
        }
    }
}

impl fmt::Display for ResponseCode {
    /// Seven digits: HTTP status (3) + service (2) + case (2), e.g. `"4017300"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:03}{}{:02}",
            self.case.http_status(),
            self.service,
            self.case.case_code()
        )
    }
}

impl TryFrom<RawResponseCode> for ResponseCode {
    type Error = ResponseCodeError;

    fn try_from(raw: RawResponseCode) -> Result<ResponseCode, ResponseCodeError> {
        let case = Case::from_parts(raw.http, raw.case).ok_or(ResponseCodeError::UnknownCase {
            http: raw.http,
            case: raw.case,
        })?;
        Ok(ResponseCode::new(raw.service, case))
    }
}

impl FromStr for ResponseCode {
    type Err = ResponseCodeError;

    /// Parses a 7-digit code whose HTTP status and case are a row of the SNAP table.
    fn from_str(s: &str) -> Result<ResponseCode, ResponseCodeError> {
        ResponseCode::try_from(s.parse::<RawResponseCode>()?)
    }
}

impl Serialize for ResponseCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResponseCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ResponseCode, D::Error> {
        struct CodeVisitor;

        impl Visitor<'_> for CodeVisitor {
            type Value = ResponseCode;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 7-digit SNAP response code string, e.g. \"2002400\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResponseCode, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(CodeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_unique() {
        assert_eq!(Case::ALL.len(), 63);
        for (i, a) in Case::ALL.iter().enumerate() {
            for b in Case::ALL.iter().skip(i + 1) {
                assert!(
                    (a.http_status(), a.case_code()) != (b.http_status(), b.case_code()),
                    "{a:?} and {b:?} share a code"
                );
            }
            assert_eq!(Case::from_parts(a.http_status(), a.case_code()), Some(*a));
            assert!(!a.message().is_empty());
        }
        assert_eq!(Case::from_parts(404, 20), None);
        assert_eq!(Case::from_parts(408, 0), None);
    }

    #[test]
    fn known_codes_render() {
        let cases = [
            (ServiceCode::ACCESS_TOKEN_B2B, Case::Successful, "2007300"),
            (ServiceCode::VA_INQUIRY, Case::Successful, "2002400"),
            (ServiceCode::VA_INQUIRY, Case::InvalidToken, "4012401"),
            (
                ServiceCode::DEBIT_PAYMENT,
                Case::InsufficientFunds,
                "4035414",
            ),
            (ServiceCode::GENERIC, Case::InvalidFieldFormat, "4000001"),
            (ServiceCode::DEBIT_REFUND, Case::InProgress, "2025800"),
            (ServiceCode::ACCESS_TOKEN_B2B, Case::Unauthorized, "4017300"),
            (
                ServiceCode::VA_PAYMENT,
                Case::InconsistentRequest,
                "4042518",
            ),
            (
                ServiceCode::APPLY_OTT,
                Case::InvalidCustomerToken,
                "4014902",
            ),
            (ServiceCode::ACCOUNT_BINDING, Case::Timeout, "5040700"),
        ];
        for (service, case, want) in cases {
            let code = ResponseCode::new(service, case);
            assert_eq!(code.to_string(), want);
            assert_eq!(want.parse::<ResponseCode>(), Ok(code));
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{want}\""));
        }
    }

    #[test]
    fn messages() {
        let m = |s, c, d| ResponseCode::new(s, c).message(d);
        let ts = ServiceCode::ACCESS_TOKEN_B2B;
        assert_eq!(
            m(ts, Case::InvalidFieldFormat, Some("X-TIMESTAMP")),
            "Invalid Field Format X-TIMESTAMP"
        );
        assert_eq!(
            m(ts, Case::InvalidMandatoryField, Some("partnerReferenceNo")),
            "Invalid Mandatory Field partnerReferenceNo"
        );
        assert_eq!(
            m(ts, Case::Unauthorized, Some("Invalid Signature")),
            "Unauthorized. Invalid Signature"
        );
        assert_eq!(m(ts, Case::Unauthorized, None), "Unauthorized.");
        assert_eq!(m(ts, Case::Unauthorized, Some("  ")), "Unauthorized.");
        assert_eq!(
            m(ts, Case::InvalidFieldFormat, None),
            "Invalid Field Format"
        );
        assert_eq!(
            m(ts, Case::FeatureNotAllowed, Some("Direct Debit")),
            "Feature Not Allowed Direct Debit"
        );
        assert_eq!(m(ts, Case::Conflict, Some("ignored")), "Conflict");
        assert_eq!(
            Case::OtpSentToCardholder.message(),
            "OTP Sent To Cardholder"
        );
        assert_eq!(
            Case::RequestedOperationNotAllowed.message(),
            "Requested Operation Is Not Allowed"
        );
        let long = "é".repeat(400);
        let msg = m(ts, Case::InvalidFieldFormat, Some(&long));
        assert_eq!(msg.chars().count(), MAX_RESPONSE_MESSAGE_CHARS);
    }

    #[test]
    fn parse_errors() {
        use ResponseCodeError::*;
        assert_eq!("".parse::<ResponseCode>(), Err(Length));
        assert_eq!("20073000".parse::<ResponseCode>(), Err(Length));
        assert_eq!("20073a0".parse::<ResponseCode>(), Err(NonDigit));
        assert_eq!("2007é0".parse::<ResponseCode>(), Err(NonDigit)); // 7 bytes
        assert_eq!("2007é00".parse::<ResponseCode>(), Err(Length));
        assert_eq!(
            "2005501".parse::<ResponseCode>(),
            Err(UnknownCase { http: 200, case: 1 })
        );
        let raw: RawResponseCode = "4085000".parse().unwrap();
        assert_eq!((raw.http, raw.service.get(), raw.case), (408, 50, 0));
        assert_eq!(raw.to_string(), "4085000");
        assert!(serde_json::from_str::<ResponseCode>("\"4017300\"").is_ok());
        assert!(serde_json::from_str::<ResponseCode>("4017300").is_err());
    }

    #[test]
    fn service_codes() {
        assert_eq!(ServiceCode::new(100), None);
        assert_eq!(ServiceCode::new(99).map(ServiceCode::get), Some(99));
        assert_eq!(ServiceCode::GENERIC.to_string(), "00");
        assert_eq!("07".parse(), Ok(ServiceCode::ACCOUNT_BINDING));
        assert!("7".parse::<ServiceCode>().is_err());
        assert_eq!(ServiceCode::KNOWN.len(), 82);
        assert_eq!(ServiceCode::DEBIT_PAYMENT.name(), Some("DEBIT_PAYMENT"));
        assert_eq!(
            serde_json::to_string(&ServiceCode::ACCOUNT_BINDING).unwrap(),
            "\"07\""
        );
        assert_eq!(
            serde_json::from_str::<ServiceCode>("\"54\"").unwrap(),
            ServiceCode::DEBIT_PAYMENT
        );
        assert!(serde_json::from_str::<ServiceCode>("54").is_err());
        for (i, code) in ServiceCode::KNOWN.iter().enumerate() {
            assert_eq!(usize::from(code.get()), i);
        }
    }
}
