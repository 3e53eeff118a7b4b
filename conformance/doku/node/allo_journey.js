// The Allo Bank direct-debit journey with DOKU's official Node SDK (doku-nodejs-library)
// against bayar, with only the base URL changed (reference/doku.md 2a: the SDK's Config has
// mutable static base URLs). Prints one JSON object of wire codes; the Rust test asserts.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');

const Config = require('doku-nodejs-library/_commons/config');
Config.CORE_SANDBOX_BASE_URL = process.env.BAYAR_URL;
Config.CORE_PRODUCTION_BASE_URL = process.env.BAYAR_URL;

const Snap = require('doku-nodejs-library/_modules/snap');
const AccountBindingRequestDto = require('doku-nodejs-library/_models/accountBindingRequestDTO');
const { AccountUnbindingRequestDto, AccountUnbindingAdditionalInfo } = require('doku-nodejs-library/_models/accountUnbindingRequestDTO');
const BalanceInquiryRequestDto = require('doku-nodejs-library/_models/balanceInquiryRequestDTO');
const { PaymentRequestDto } = require('doku-nodejs-library/_models/paymentRequestDirectDebitDTO');
const CheckStatusDirectDebitDTO = require('doku-nodejs-library/_models/checkStatusDirectDebitRequestDTO');
const RefundRequestDto = require('doku-nodejs-library/_models/refundRequestDTO');

const ALLO = 'DIRECT_DEBIT_ALLO_SNAP';
const IP = '192.168.100.10';
const DEVICE = 'pixel-8-test';
// The Node SDK wants Allo references of 32 to 64 characters.
const REFERENCE = 'INV-NODE-ALLO-0001'.padEnd(32, '0');

// The SDK resolves with the body on 2xx and rejects with axios' error otherwise.
async function code(call) {
  try {
    const r = await call();
    return { code: String(r.responseCode), message: r.responseMessage, body: r };
  } catch (err) {
    const data = err.response && err.response.data;
    if (!data) throw err;
    return { code: String(data.responseCode), message: data.responseMessage };
  }
}

// The hosted page, as a browser without JavaScript: follow the forms, keep the CSRF cookie.
async function completeBinding(redirectUrl) {
  let cookie = '';
  const remember = (res) => {
    const set = res.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0];
  };
  const get = async (url) => {
    const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    remember(res);
    return { url, html: await res.text() };
  };
  const submit = async (page, field, value) => {
    const form = [...page.html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)]
      .find((m) => m[2].includes(`name="${field}"`));
    const fields = new URLSearchParams();
    for (const input of form[2].matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input[0]);
      const val = /value="([^"]*)"/.exec(input[0]);
      if (name) fields.set(name[1], val ? val[1] : '');
    }
    fields.set(field, value);
    const res = await fetch(new URL(form[1], page.url), {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
      redirect: 'manual',
    });
    remember(res);
    return new URL(res.headers.get('location'), page.url).toString();
  };
  const otp = execFileSync(process.env.BAYAR_BIN, ['otp', 'show', '--phone', process.env.BAYAR_PHONE], {
    env: { ...process.env, DATABASE_URL: process.env.BAYAR_DATABASE_URL },
  }).toString().trim().split(/\s+/).pop();
  const pinPage = await get(await submit(await get(redirectUrl), 'otp', otp));
  return submit(pinPage, 'pin', process.env.BAYAR_PIN);
}

async function main() {
  const out = {};
  const snap = new Snap({
    isProduction: true,
    privateKey: fs.readFileSync(process.env.BAYAR_PRIVATE_KEY_FILE, 'utf8'),
    clientID: process.env.BAYAR_CLIENT_ID,
    publicKey: '',
    dokuPublicKey: fs.readFileSync(process.env.BAYAR_GATEWAY_PUBLIC_KEY_FILE, 'utf8'),
    issuer: 'bayar-conformance',
    secretKey: process.env.BAYAR_CLIENT_SECRET,
  });
  out.token = await code(async () => snap.getTokenB2B());

  const binding = new AccountBindingRequestDto();
  binding.phoneNo = process.env.BAYAR_PHONE;
  binding.additionalInfo = {
    channel: ALLO,
    custIdMerchant: 'cust-node-001',
    successRegistrationUrl: 'https://merchant.example/bound',
    failedRegistrationUrl: 'https://merchant.example/failed',
    deviceModel: 'Pixel 8',
    osType: 'android',
    channelId: 'app',
  };
  const bound = await code(() => snap.doAccountBinding(binding, IP, DEVICE));
  out.binding = { code: bound.code };
  const finalUrl = new URL(await completeBinding(bound.body.redirectUrl));
  out.binding.returned_to = finalUrl.origin + finalUrl.pathname;
  const authCode = finalUrl.searchParams.get('authCode');

  out.b2b2c = await code(() => snap.getTokenB2B2c(authCode));

  const balance = new BalanceInquiryRequestDto({ channel: ALLO });
  const bal = await code(() => snap.doBalanceInquiry(balance, authCode, IP));
  out.balance = { code: bal.code, amount: bal.body && bal.body.accountInfos[0].amount.value };

  const pay = (reference, value) => {
    const request = new PaymentRequestDto();
    request.partnerReferenceNo = reference;
    request.amount = { value, currency: 'IDR' };
    request.additionalInfo = {
      channel: ALLO,
      remarks: 'Order from Node',
      successPaymentUrl: 'https://merchant.example/paid',
      failedPaymentUrl: 'https://merchant.example/unpaid',
      lineItems: [{ name: 'Kopi', price: value, quantity: '1' }],
    };
    return code(() => snap.doPayment(request, authCode, IP, DEVICE));
  };
  out.payment = await pay(REFERENCE, '100000.00');
  delete out.payment.body;
  out.payment_repeat = await pay(REFERENCE, '100000.00');

  const status = new CheckStatusDirectDebitDTO(REFERENCE, null, null, '55', null, null, null, null, null, { channel: ALLO });
  const st = await code(() => snap.doCheckStatus(status));
  out.status = { code: st.code, latest: st.body && st.body.latestTransactionStatus };

  const refund = (number, value) => {
    const request = new RefundRequestDto(REFERENCE, { value, currency: 'IDR' }, number.padEnd(32, '0'), null, 'customer request', { channel: ALLO });
    return code(() => snap.doRefund(request, authCode, IP, DEVICE));
  };
  out.refund_1 = await refund('REFUND-NODE-1-', '30000.00');
  out.refund_2 = await refund('REFUND-NODE-2-', '20000.00');
  out.refund_too_much = await refund('REFUND-NODE-3-', '50000.01');

  const unbinding = new AccountUnbindingRequestDto(snap.tokenB2b2c, new AccountUnbindingAdditionalInfo(ALLO));
  out.unbinding = await code(() => snap.doAccountUnbinding(unbinding, IP));
  out.payment_after_unbinding = await pay('INV-NODE-ALLO-0002'.padEnd(32, '0'), '1000.00');
  for (const step of Object.values(out)) delete step.body;
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
