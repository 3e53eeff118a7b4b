// DANA's official Node SDK (npm dana-node) against bayar: the widget (apply OTT included),
// payment-gateway, disbursement and merchant-balance operations, with only the base URL
// changed (reference/dana.md 1: each API object's `configuration` replaced). The customer's
// part (the OAuth login, the wallet page) is played with plain fetch. Prints one JSON object
// of wire outcomes; crates/bayar-server/tests/conformance_dana_node.rs asserts them and the
// ledger.
'use strict';

const fs = require('node:fs');
const { Dana, Configuration, ResponseError } = require('dana-node');
const { WidgetUtils } = require('dana-node/widget/v1');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
};

const MERCHANT_ID = env('BAYAR_MERCHANT_ID');
const REFERENCE = env('BAYAR_REFERENCE');
const RETURN_URL = 'https://merchant.example/dana/return';
const OAUTH_REDIRECT = 'https://merchant.example/dana/oauth-callback';
const DEVICE = 'node-device-0001';
const ENV_INFO = { sourcePlatform: 'IPG', terminalType: 'SYSTEM' };

const idr = (value) => ({ value, currency: 'IDR' });

// DANA's own time format, Jakarta time, `minutes` from now.
function inMinutes(minutes) {
  const jakarta = new Date(Date.now() + minutes * 60_000 + 7 * 3600_000);
  return jakarta.toISOString().replace(/\.\d{3}Z$/, '+07:00');
}

// One SDK call: the wire outcome (HTTP status, responseCode, the body on success). The SDK
// resolves with the parsed model on 2xx and throws ResponseError (the error body) otherwise.
async function call(fn) {
  try {
    const body = await fn();
    return { http: 200, code: body.responseCode ?? null, body };
  } catch (err) {
    if (!(err instanceof ResponseError)) throw err;
    const body = typeof err.response === 'object' ? err.response : { raw: String(err.response) };
    return { http: err.status, code: body.responseCode ?? null, body };
  }
}

// The step as reported: the wire outcome plus the chosen fields of the body.
function report(outcome, pick = () => ({})) {
  const { body, ...wire } = outcome;
  const picked = wire.http < 300 && body ? pick(body) : {};
  return { ...wire, ...picked, partnerReferenceNo: body && body.partnerReferenceNo };
}

// A browser without JavaScript on bayar's hosted pages: forms filled in, the CSRF cookie kept,
// redirects not followed so the script sees where the page sends the customer.
function browser() {
  let cookie = '';
  const remember = (res) => {
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0];
  };
  return {
    // Follows redirects itself, so the cookie set on each hop is kept.
    async get(url) {
      for (let hops = 0; hops < 5; hops += 1) {
        const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
        remember(res);
        if (res.status === 302 || res.status === 303) {
          url = new URL(res.headers.get('location'), url).toString();
          continue;
        }
        if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
        return { url, html: await res.text() };
      }
      throw new Error(`GET ${url}: too many redirects`);
    },
    async submit(page, answers) {
      const form = [...page.html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)]
        .find((m) => Object.keys(answers).every((k) => m[2].includes(`name="${k}"`)));
      if (!form) throw new Error(`no form with ${Object.keys(answers)} on ${page.url}`);
      const fields = new URLSearchParams();
      for (const input of form[2].matchAll(/<input[^>]*>/g)) {
        const name = /name="([^"]*)"/.exec(input[0]);
        const val = /value="([^"]*)"/.exec(input[0]);
        if (name) fields.set(name[1], val ? val[1].replace(/&amp;/g, '&') : '');
      }
      for (const [k, v] of Object.entries(answers)) fields.set(k, v);
      const res = await fetch(new URL(form[1].replace(/&amp;/g, '&'), page.url), {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: fields.toString(),
        redirect: 'manual',
      });
      remember(res);
      if (res.status !== 303 && res.status !== 302) {
        throw new Error(`POST ${form[1]}: ${res.status} ${(await res.text()).slice(0, 500)}`);
      }
      return new URL(res.headers.get('location'), page.url).toString();
    },
  };
}

// The wallet user pays on the hosted wallet page; returns the merchant URL it lands on.
async function payOnTheWalletPage(url) {
  const b = browser();
  const landed = await b.submit(await b.get(url), { phone: env('BAYAR_PHONE'), pin: env('BAYAR_PIN') });
  return landed.split('?')[0];
}

async function disbursement(dana, out) {
  const merchantBalance = async () => {
    const r = await call(() => dana.merchantManagementApi.queryMerchantResource({
      requestMerchantId: MERCHANT_ID,
      merchantResourceInfoList: ['MERCHANT_DEPOSIT_BALANCE'],
    }));
    const body = r.body.response.body;
    return {
      http: r.http,
      status: body.resultInfo.resultStatus,
      value: JSON.parse(body.merchantResourceInformations[0].value),
    };
  };
  out.balance_before = await merchantBalance();

  const api = dana.disbursementApi;
  const fundType = { fundType: 'AGENT_TOPUP_FOR_USER_SETTLE' };
  out.inquiry = report(await call(() => api.danaAccountInquiry({
    partnerReferenceNo: `${REFERENCE}-INQ`,
    customerNumber: env('BAYAR_TOPUP_PHONE'),
    amount: idr('10000.00'),
    transactionDate: inMinutes(0),
    additionalInfo: fundType,
  })), (b) => ({ customerName: b.customerName, fee: b.feeAmount.value, max: b.maxAmount.value }));

  const topup = (reference, value, phone = env('BAYAR_TOPUP_PHONE')) => call(() => api.transferToDana({
    partnerReferenceNo: reference,
    customerNumber: phone,
    amount: idr(value),
    feeAmount: idr('2500.00'),
    transactionDate: inMinutes(0),
    additionalInfo: fundType,
  }));
  const pickTopup = (b) => ({ referenceNo: b.referenceNo, amount: b.amount && b.amount.value });
  out.topup = report(await topup(`${REFERENCE}-T1`, '10000.00'), pickTopup);
  out.topup_repeat = report(await topup(`${REFERENCE}-T1`, '10000.00'), pickTopup);
  out.topup_inconsistent = report(await topup(`${REFERENCE}-T1`, '11000.00'));
  out.topup_insufficient = report(await topup(`${REFERENCE}-T2`, '90000.00'));
  out.topup_frozen_magic = report(await topup(`${REFERENCE}-T3`, '1000.00', '628996647679'));

  const status = (reference) => call(() => api.transferToDanaInquiryStatus({
    originalPartnerReferenceNo: reference,
    serviceCode: '38',
  }));
  const pickStatus = (b) => ({
    status: b.latestTransactionStatus,
    desc: b.transactionStatusDesc,
    amount: b.amount && b.amount.value,
    referenceNo: b.originalReferenceNo,
  });
  out.status = report(await status(`${REFERENCE}-T1`), pickStatus);
  out.status_insufficient = report(await status(`${REFERENCE}-T2`), pickStatus);
  out.status_unknown = report(await status(`${REFERENCE}-T9`));
  out.balance_after = await merchantBalance();

  // Transfer to bank, from the same deposit.
  const bankFund = { fundType: 'MERCHANT_WITHDRAW_FOR_CORPORATE' };
  out.bank_inquiry = report(await call(() => api.bankAccountInquiry({
    partnerReferenceNo: `${REFERENCE}-BI`,
    customerNumber: env('BAYAR_TOPUP_PHONE'),
    beneficiaryAccountNumber: '2460888509',
    amount: idr('5000.00'),
    additionalInfo: { ...bankFund, beneficiaryBankCode: '014' },
  })), (b) => ({ name: b.beneficiaryAccountName, fee: b.additionalInfo.feeAmount.value }));
  const toBank = (reference, account, value) => call(() => api.transferToBank({
    partnerReferenceNo: reference,
    customerNumber: env('BAYAR_TOPUP_PHONE'),
    beneficiaryAccountNumber: account,
    beneficiaryBankCode: '014',
    amount: idr(value),
    additionalInfo: bankFund,
  }));
  out.bank_transfer = report(await toBank(`${REFERENCE}-B1`, '2460888509', '5000.00'),
    (b) => ({ referenceNo: b.referenceNo, transactionDate: b.transactionDate }));
  out.bank_transfer_repeat = report(await toBank(`${REFERENCE}-B1`, '2460888509', '5000.00'),
    (b) => ({ referenceNo: b.referenceNo }));
  out.bank_transfer_inconsistent = report(await toBank(`${REFERENCE}-B1`, '2460888509', '6000.00'));
  out.bank_transfer_fraud_magic = report(await toBank(`${REFERENCE}-B2`, '82298055100', '1000.00'));
  out.bank_status = report(await call(() => api.transferToBankInquiryStatus({
    originalPartnerReferenceNo: `${REFERENCE}-B1`,
    serviceCode: '43',
  })), (b) => ({ status: b.latestTransactionStatus, amount: b.amount && b.amount.value }));
}

async function widget(dana, out) {
  const api = dana.widgetApi;
  // The OAuth URL as the SDK builds it, its host replaced with bayar's.
  process.env.X_PARTNER_ID = env('BAYAR_CLIENT_ID');
  const built = new URL(WidgetUtils.generateOauthUrl({
    redirectUrl: OAUTH_REDIRECT,
    externalId: 'ext-node-0001',
    merchantId: MERCHANT_ID,
    state: 'state-node-0001',
  }));
  const b = browser();
  const login = await b.get(env('BAYAR_URL') + built.pathname + built.search);
  const landed = new URL(await b.submit(login, { phone: env('BAYAR_PHONE'), pin: env('BAYAR_PIN') }));
  out.oauth = { redirect: landed.origin + landed.pathname, state: landed.searchParams.get('state') };
  const authCode = landed.searchParams.get('authCode');

  const token = await call(() => api.applyToken({ grantType: 'AUTHORIZATION_CODE', authCode }));
  out.apply_token = report(token, (r) => ({
    publicUserId: r.additionalInfo && r.additionalInfo.userInfo && r.additionalInfo.userInfo.publicUserId,
    accessTokenExpiryTime: r.accessTokenExpiryTime,
  }));
  const accessToken = token.body.accessToken;
  out.refresh = report(await call(() => api.applyToken({
    grantType: 'REFRESH_TOKEN',
    refreshToken: token.body.refreshToken,
  })));

  const balance = () => call(() => api.balanceInquiry({ additionalInfo: { accessToken, deviceId: DEVICE } }));
  out.balance = report(await balance(), (r) => ({
    balanceType: r.accountInfos[0].balanceType,
    available: r.accountInfos[0].availableBalance.value,
  }));

  const pay = (reference, value) => call(() => api.widgetPayment({
    partnerReferenceNo: reference,
    merchantId: MERCHANT_ID,
    amount: idr(value),
    validUpTo: inMinutes(10),
    urlParams: [{ url: RETURN_URL, type: 'PAY_RETURN', isDeeplink: 'N' }],
    additionalInfo: {
      productCode: '51051000100000000001',
      mcc: '5732',
      order: { orderTitle: 'Kopi susu' },
      envInfo: ENV_INFO,
    },
  }));
  const paid = await pay(`${REFERENCE}-W1`, '15000.00');
  out.widget_payment = report(paid, (r) => ({ referenceNo: r.referenceNo, webRedirectUrl: r.webRedirectUrl }));

  // Apply OTT, and the SDK's own helper to put it on the payment URL: the wallet page then
  // knows the customer and asks only for the PIN.
  const ott = await call(() => api.applyOTT({
    userResources: ['OTT'],
    additionalInfo: { accessToken, deviceId: DEVICE },
  }));
  out.apply_ott = report(ott, (r) => ({ resourceType: r.userResources[0].resourceType }));
  const page = browser();
  const identified = await page.get(WidgetUtils.generateCompletePaymentUrl(paid.body, ott.body));
  out.widget_identified = /id="masked-phone"/.test(identified.html) && !/type="tel"/.test(identified.html);
  out.widget_returned = (await page.submit(identified, { pin: env('BAYAR_PIN') })).split('?')[0];

  const query = async (reference) => report(await call(() => api.queryPayment({
    originalPartnerReferenceNo: reference,
    serviceCode: '54',
    merchantId: MERCHANT_ID,
  })), (r) => ({ status: r.latestTransactionStatus, amount: r.amount && r.amount.value }));
  out.widget_query = await query(`${REFERENCE}-W1`);

  out.widget_refund = report(await call(() => api.refundOrder({
    merchantId: MERCHANT_ID,
    originalPartnerReferenceNo: `${REFERENCE}-W1`,
    partnerRefundNo: `${REFERENCE}-W1-R1`,
    refundAmount: idr('5000.00'),
    reason: 'one cup short',
    additionalInfo: { envInfo: ENV_INFO },
  })), (r) => ({ refundAmount: r.refundAmount.value, refundTime: r.refundTime }));

  out.widget_payment_other = report(await pay(`${REFERENCE}-W2`, '7000.00'));
  out.widget_cancel = report(await call(() => api.cancelOrder({
    originalPartnerReferenceNo: `${REFERENCE}-W2`,
    merchantId: MERCHANT_ID,
    reason: 'customer left',
  })), (r) => ({ cancelTime: r.cancelTime }));
  out.widget_query_cancelled = await query(`${REFERENCE}-W2`);

  const profile = await call(() => api.queryUserProfile({
    userResources: ['BALANCE', 'MASK_DANA_ID'],
    accessToken,
  }));
  const profileBody = profile.body.response.body;
  out.user_profile = {
    http: profile.http,
    status: profileBody.resultInfo.resultStatus,
    balance: JSON.parse(profileBody.userResourceInfos[0].value).amount,
    maskedId: profileBody.userResourceInfos[1].value,
  };

  out.unbinding = report(await call(() => api.accountUnbinding({
    merchantId: MERCHANT_ID,
    additionalInfo: { accessToken, deviceId: DEVICE },
  })));
  out.balance_after_unbinding = report(await balance());
}

async function paymentGateway(dana, out) {
  const api = dana.paymentGatewayApi;
  // The finish notifies go to the merchant's endpoint built on dana-node's WebhookParser.
  const urlParams = [
    { url: RETURN_URL, type: 'PAY_RETURN', isDeeplink: 'N' },
    { url: env('BAYAR_NOTIFY_URL'), type: 'NOTIFICATION', isDeeplink: 'N' },
  ];
  const order = (reference, value) => call(() => api.createOrder({
    partnerReferenceNo: reference,
    merchantId: MERCHANT_ID,
    amount: idr(value),
    validUpTo: inMinutes(20),
    urlParams,
    additionalInfo: {
      mcc: '5732',
      envInfo: ENV_INFO,
      order: { orderTitle: 'Kopi susu x 4', scenario: 'REDIRECT' },
    },
  }));
  out.pg_consult = report(await call(() => api.consultPay({
    merchantId: MERCHANT_ID,
    amount: idr('20000.00'),
    additionalInfo: { envInfo: ENV_INFO },
  })), (r) => ({ payMethod: r.paymentInfos[0].payMethod }));
  const created = await order(`${REFERENCE}-P1`, '20000.00');
  out.pg_create = report(created, (r) => ({ referenceNo: r.referenceNo, webRedirectUrl: r.webRedirectUrl }));
  out.pg_returned = await payOnTheWalletPage(created.body.webRedirectUrl);

  const query = async (reference) => report(await call(() => api.queryPayment({
    originalPartnerReferenceNo: reference,
    serviceCode: '54',
    merchantId: MERCHANT_ID,
  })), (r) => ({ status: r.latestTransactionStatus, desc: r.transactionStatusDesc, paidTime: r.paidTime }));
  out.pg_query = await query(`${REFERENCE}-P1`);

  const refund = async (number, value) => report(await call(() => api.refundOrder({
    merchantId: MERCHANT_ID,
    originalPartnerReferenceNo: `${REFERENCE}-P1`,
    partnerRefundNo: number,
    refundAmount: idr(value),
    reason: 'Customer complain',
  })), (r) => ({ refundAmount: r.refundAmount.value }));
  out.pg_refund = await refund(`${REFERENCE}-P1-R1`, '8000.00');
  out.pg_refund_second = await refund(`${REFERENCE}-P1-R2`, '1000.00');

  out.pg_create_other = report(await order(`${REFERENCE}-P2`, '9000.00'));
  out.pg_cancel = report(await call(() => api.cancelOrder({
    originalPartnerReferenceNo: `${REFERENCE}-P2`,
    merchantId: MERCHANT_ID,
    reason: 'customer left',
  })));
  out.pg_query_cancelled = await query(`${REFERENCE}-P2`);
  out.pg_inconsistent = report(await order(`${REFERENCE}-P1`, '21000.00'));
  out.pg_query_unknown = await query(`${REFERENCE}-P9`);
}

async function main() {
  const dana = new Dana({
    partnerId: env('BAYAR_CLIENT_ID'),
    privateKey: fs.readFileSync(env('BAYAR_PRIVATE_KEY_FILE'), 'utf8'),
    origin: 'https://merchant.example',
    env: 'sandbox',
    clientSecret: env('BAYAR_CLIENT_SECRET'),
  });
  // reference/dana.md 1: the SDK has no base-URL setting; each API object's configuration is
  // replaced (withMiddleware() would clone and throw).
  for (const api of ['paymentGatewayApi', 'widgetApi', 'disbursementApi', 'merchantManagementApi']) {
    dana[api].configuration = new Configuration({ basePath: env('BAYAR_URL') });
  }
  const out = {};
  await disbursement(dana, out);
  await widget(dana, out);
  await paymentGateway(dana, out);
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
