// The subscriber portal in a real browser (Debian's headless Chromium driven by playwright-core)
// against the real `station serve` on loopback. In both languages: sign up with the one-time
// code (read from the SMS outbox through the admin API, as no SMSC is configured), check a
// device, top up, submit the identity (approved by an operator through the admin API), order an
// eSIM paid by card and confirmed by the test provider's signed webhook, see the QR code, and
// download the CSV. Negative: a form without its CSRF token, wrong one-time codes past the
// limit, and another customer's order id (404, no data). Screenshots of the main pages in both
// languages go to STATION_SCREENSHOTS_DIR.
//
// Usage: node portal_test.cjs STATION_BINARY   (PLAYWRIGHT_CORE: path of playwright-core)
"use strict";
const assert = require("node:assert/strict");
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");
const consoleTest = require("./console_test.cjs");

const STATION = process.argv[2];
const SHOTS = process.env.STATION_SCREENSHOTS_DIR || path.join(os.tmpdir(), "station-shots");
const PHONE_VIEWPORT = { width: 390, height: 844 };

function luhnComplete(body) {
  let total = 0;
  [...body].reverse().forEach((ch, i) => {
    let d = Number(ch);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    total += d;
  });
  return body + String((10 - (total % 10)) % 10);
}

function eid(n) {
  const body = "89049032" + String(n).padStart(22, "0");
  const check = 98 - Number(BigInt(body + "00") % 97n);
  return body + String(check).padStart(2, "0");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Station {
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "station-web-"));
    this.data = path.join(this.dir, "data");
    const csv = path.join(this.dir, "profiles.csv");
    let rows = "iccid,imsi,ki,opc\n";
    for (let n = 1; n <= 4; n++) {
      rows += `${luhnComplete("898601" + String(n).padStart(12, "0"))},46001${String(n).padStart(10, "0")},${"A".repeat(32)},${"B".repeat(32)}\n`;
    }
    fs.writeFileSync(csv, rows);
    execFileSync(STATION, ["admin", "profiles", "import", csv, "--data-dir", this.data]);
    const out = execFileSync(STATION, ["admin", "api-key", "create", "--scope", "admin",
                                       "--data-dir", this.data], { encoding: "utf8" });
    this.key = out.trim().split("\n").pop();
    this.binary = STATION;
    consoleTest.createStaff(this, execFileSync);
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.process = spawn(STATION, ["serve", "--data-dir", this.data, "--listen",
                                   `127.0.0.1:${this.port}`, "--smdp-address", "smdp.example.test",
                                   "--payment-webhook-delay-ms", "200"],
                         { stdio: ["ignore", "ignore", "pipe"] });
    this.stderr = "";
    this.process.stderr.on("data", (d) => { this.stderr += d; });
    const deadline = Date.now() + 30000;
    for (;;) {
      try {
        if ((await fetch(this.base + "/readyz")).ok) break;
      } catch (e) { /* not listening yet */ }
      assert.ok(Date.now() < deadline, "server not ready: " + this.stderr);
      await sleep(50);
    }
  }

  async api(method, target, body) {
    const response = await fetch(this.base + target, {
      method,
      headers: { Authorization: `Bearer ${this.key}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null };
  }

  // The newest one-time code sent to `login` (a phone number "+86...", by SMS, or an email
  // address, by email) and not yet used by this test.
  async codeFor(login, after = new Set()) {
    const deadline = Date.now() + 10000;
    const byEmail = login.includes("@");
    const destination = byEmail ? login : login.slice(1);
    for (;;) {
      const { json } = await this.api("GET", "/v1/admin/outbox?limit=200");
      const message = json.messages.find((m) => m.destination === destination &&
                                                 m.channel === (byEmail ? "email" : "sms") &&
                                                 !after.has(m.id) && /\d{6}/.test(m.text));
      if (message) {
        after.add(message.id);
        return message.text.match(/\d{6}/)[0];
      }
      assert.ok(Date.now() < deadline, "no code in the outbox for " + login);
      await sleep(100);
    }
  }

  async stop() {
    if (!this.process) return;
    this.process.kill("SIGTERM");
    await new Promise((r) => this.process.on("exit", r));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const TEXT = {
  "zh-CN": { capable: "支持 eSIM", topped: "充值成功", pending: "正在审核", ready: "可安装",
             forbidden: "安全令牌", tooMany: "错误次数过多", money: "¥50.00", switchTo: "English" },
  en: { capable: "This device takes an eSIM", topped: "top-up went through", pending: "being reviewed",
        ready: "Ready to install", forbidden: "security token", tooMany: "Too many wrong attempts",
        money: "CN¥50.00", switchTo: "中文" },
};

async function shot(page, language, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}-${language}.png`), fullPage: true });
}

// Headers every page must carry.
function checkSecurityHeaders(response) {
  const headers = response.headers();
  assert.match(headers["content-security-policy"], /default-src 'self'/);
  assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.equal(headers["x-content-type-options"], "nosniff");
  assert.equal(headers["referrer-policy"], "same-origin");
  assert.equal(headers["x-frame-options"], "DENY");
}

async function signUp(page, station, language, name, phone, codes) {
  await page.goto(station.base + "/signin?new=1");
  await page.getByLabel(language === "en" ? "Your name" : "姓名").fill(name);
  await page.locator("#login").fill(phone);
  await page.locator("form[action='/signin'] button[type=submit]").click();
  await page.waitForSelector("#code");
  await shot(page, language, "sign-in-code");
  await page.locator("#code").fill(await station.codeFor(phone, codes));
  await page.locator("form[action='/signin/code'] button[type=submit]").click();
  await page.waitForSelector("[data-testid=balance]");
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "station_session");
  assert.ok(session.httpOnly, "the session cookie is HttpOnly");
  assert.equal(session.sameSite, "Lax");
}

async function journey(browser, station, language, phone, codes) {
  const context = await browser.newContext({ locale: language, viewport: PHONE_VIEWPORT });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  const t = TEXT[language];

  // Language from Accept-Language.
  const home = await page.goto(station.base + "/");
  checkSecurityHeaders(home);
  assert.equal(await page.getAttribute("html", "lang"), language);
  await shot(page, language, "home");

  // Device check.
  await page.goto(station.base + "/devices");
  await page.locator("#device").fill("iPhone 15");
  await page.locator("form[action='/devices'] button").click();
  await page.waitForSelector("[data-testid=device-result]");
  assert.match(await page.textContent("[data-testid=device-result]"), new RegExp(t.capable));
  await shot(page, language, "device-check");

  await page.goto(station.base + "/plans");
  await shot(page, language, "plans");

  await signUp(page, station, language, language === "en" ? "Lily Han" : "韩梅梅", phone, codes);

  // Top-up on channel "web"; the balance in the customer's format.
  await page.goto(station.base + "/wallet");
  await page.locator("#amount").fill("50");
  await page.locator("form[action='/wallet/topup'] button").click();
  await page.waitForSelector("[data-testid=topup-done]");
  assert.match(await page.textContent("[data-testid=balance]"), new RegExp(t.money.replace("$", "\\$")));
  await shot(page, language, "wallet");

  // Order: identity first, approved by an operator.
  await page.goto(station.base + "/plans");
  await page.locator("a.button[href^='/order']").first().click();
  await page.locator("#document_number").fill(language === "en" ? "E12345678" : "110101199003074514");
  await page.locator("#full_name").fill(language === "en" ? "Lily Han" : "韩梅梅");
  await page.locator("#date_of_birth").fill("1990-03-07");
  await shot(page, language, "order-identity");
  await page.locator("form[action='/identity'] button").click();
  await page.waitForSelector("[data-testid=identity-pending]");
  const pending = await station.api("GET", "/v1/admin/kyc?state=pending");
  const customer = pending.json.identities.find((i) => i.full_name === (language === "en" ? "Lily Han" : "韩梅梅"));
  assert.ok(customer, "the identity reached the review queue");
  assert.equal((await station.api("POST", `/v1/admin/kyc/${customer.customer_id}/approve`, {})).status, 200);
  await page.reload();

  // Payment by card, confirmed by the provider's webhook.
  await page.locator("#device").fill(eid(language === "en" ? 11 : 12));
  await page.locator("input[name=payment][value=card]").check();
  assert.ok(await page.locator("#card_token").isVisible(), "card choices show for card payment");
  await page.locator("#card_token").selectOption("tok_visa");
  await shot(page, language, "order-payment");
  await page.locator("#order-form button[type=submit]").click();
  await page.waitForURL(/\/esims\/ord_/);
  const orderUrl = page.url();
  await page.waitForSelector("[data-testid=activation-code]", { timeout: 20000 });
  const code = await page.textContent("[data-testid=activation-code]");
  assert.match(code, /^LPA:1\$smdp\.example\.test\$/);
  assert.match(await page.textContent("[data-testid=esim-state]"), new RegExp(t.ready));
  const qrLoaded = await page.$eval("[data-testid=qr]", (img) => img.complete && img.naturalWidth > 0);
  assert.ok(qrLoaded, "the QR code image loads");
  await shot(page, language, "esim-activation");

  await page.goto(station.base + "/esims");
  await shot(page, language, "my-esims");

  // History and its CSV.
  await page.goto(station.base + "/transactions");
  await shot(page, language, "transactions");
  const [download] = await Promise.all([page.waitForEvent("download"),
                                        page.click("[data-testid=csv]")]);
  const csv = fs.readFileSync(await download.path(), "utf8");
  assert.match(csv, /^id,created_at,kind,direction,amount,currency,balance_after,state/);
  assert.match(csv, /,topup,credit,50\.00,CNY,50\.00,posted,/);
  // The card paid the order, so the wallet shows the top-up only.
  assert.equal(csv.trim().split("\r\n").length, 2);
  await page.goto(station.base + "/transactions?kind=topup");
  assert.equal(await page.locator("tbody tr").count(), 1);
  await checkPhoneWidthTable(page);

  await page.goto(station.base + "/statements");
  await shot(page, language, "statements");
  await page.goto(station.base + "/settings");
  await shot(page, language, "settings");

  // Switch language; it is remembered.
  await page.getByRole("link", { name: t.switchTo }).click();
  const other = language === "en" ? "zh-CN" : "en";
  assert.equal(await page.getAttribute("html", "lang"), other);
  await page.goto(station.base + "/wallet");
  assert.equal(await page.getAttribute("html", "lang"), other);

  assert.deepEqual(errors, [], "no console errors (CSP violations show up here)");
  return { context, page, orderUrl, code };
}

// At a phone's width a table's rows stack as cards; each cell still shows its column's heading
// (its data-label, drawn by CSS before the value), and the cards fit the screen.
async function checkPhoneWidthTable(page) {
  const cells = await page.$$eval("tbody tr:first-child td", (tds) => tds.map((td) => {
    const before = getComputedStyle(td, "::before");
    return { label: td.dataset.label, shown: before.content, display: before.display,
             right: td.getBoundingClientRect().right };
  }));
  const headings = await page.$$eval("thead th", (ths) => ths.map((th) => th.textContent.trim()));
  assert.equal(cells.length, headings.length);
  cells.forEach((cell, i) => {
    assert.equal(cell.label, headings[i]);
    assert.equal(cell.shown, JSON.stringify(headings[i]), "the heading shows before the value");
    assert.notEqual(cell.display, "none");
    assert.ok(cell.right <= PHONE_VIEWPORT.width, "the cell fits the screen");
  });
  const header = await page.$eval("thead", (thead) => thead.getBoundingClientRect().height);
  assert.ok(header <= 1, "the header row is left to screen readers");
}

// Signs up once by email: the code goes over the email channel (read from the outbox).
async function signUpByEmail(browser, station, codes) {
  const context = await browser.newContext({ locale: "en", viewport: PHONE_VIEWPORT });
  const page = await context.newPage();
  await page.goto(station.base + "/signin?new=1");
  await page.getByLabel("Your name").fill("Han Meimei");
  await page.locator("#login").fill("Han.Meimei@Example.CN");
  await page.locator("form[action='/signin'] button[type=submit]").click();
  await page.waitForSelector("#code");
  assert.equal(await page.textContent("[data-testid=code-destination]"), "han.meimei@example.cn");
  const { json } = await station.api("GET", "/v1/admin/outbox?limit=1");
  assert.equal(json.messages[0].channel, "email");
  assert.equal(json.messages[0].subject, "Your Station sign-in code");
  await page.locator("#code").fill(await station.codeFor("han.meimei@example.cn", codes));
  await page.locator("form[action='/signin/code'] button[type=submit]").click();
  await page.waitForSelector("[data-testid=balance]");
  await page.goto(station.base + "/settings");
  assert.ok((await page.content()).includes("han.meimei@example.cn"), "the login is the address");
  await context.close();
}

// Cancels the order on its own page: the confirmation names the refund, the order ends cancelled
// and its activation code is no longer shown.
async function cancelOrder(station, page, orderUrl) {
  await page.goto(orderUrl + "?lang=en");
  await page.click("[data-testid=esim-cancel]");
  await page.waitForURL(/\/cancel$/);
  assert.match(await page.textContent("[data-testid=cancel-refund]"), /CN¥15\.00/);
  await shot(page, "en", "cancel-order");
  await page.locator("form[action$='/cancel'] button[type=submit]").click();
  await page.waitForSelector("[data-testid=esim-cancelled]");
  assert.match(await page.textContent("[data-testid=esim-state]"), /Cancelled|Refunded/);
  assert.equal(await page.locator("[data-testid=activation-code]").count(), 0);
  assert.equal(await page.locator("[data-testid=esim-cancel]").count(), 0, "cancelled once");
  const again = await page.goto(orderUrl + "/cancel");
  assert.equal(again.status(), 409);
}

async function negativeCsrf(station, page) {
  await page.goto(station.base + "/?lang=en");
  await page.goto(station.base + "/wallet");
  const before = await page.textContent("[data-testid=balance]");
  // The real form, its token removed.
  await page.locator("#amount").fill("10");
  await page.$eval("form[action='/wallet/topup'] input[name=csrf]", (input) => input.remove());
  const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/wallet/topup")),
                                        page.locator("form[action='/wallet/topup'] button").click()]);
  assert.equal(response.status(), 403);
  assert.equal(await page.textContent("[data-testid=error-code]"), "forbidden");
  await shot(page, "en", "csrf-refused");
  // And a forged request with the session cookie but a wrong token.
  const forged = await page.request.post(station.base + "/wallet/topup", {
    form: { amount: "10", idempotency_key: "0".repeat(32), csrf: "f".repeat(64) },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);
  await page.goto(station.base + "/wallet");
  assert.equal(await page.textContent("[data-testid=balance]"), before, "nothing changed");
}

async function negativeWrongCodes(browser, station, phone, codes) {
  const context = await browser.newContext({ locale: "en", viewport: PHONE_VIEWPORT });
  const page = await context.newPage();
  await page.goto(station.base + "/signin");
  await page.locator("#login").fill(phone);
  await page.locator("form[action='/signin'] button[type=submit]").click();
  await page.waitForSelector("#code");
  const right = await station.codeFor(phone, codes);
  const wrong = right === "000000" ? "111111" : "000000";
  const challenge = await page.getAttribute("input[name=challenge]", "value");
  const csrf = await page.getAttribute("input[name=csrf]", "value");
  for (let attempt = 1; attempt <= 5; attempt++) {
    await page.locator("#code").fill(wrong);
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/signin/code")),
                                          page.locator("form[action='/signin/code'] button").click()]);
    await page.waitForSelector("[data-testid=code-message]");
    if (attempt < 5) {
      assert.equal(response.status(), 400);
    } else {
      assert.equal(response.status(), 429);
      assert.match(await page.textContent("[data-testid=code-message]"), /Too many wrong attempts/);
      assert.equal(await page.locator("#code").count(), 0, "no code field on a dead challenge");
    }
  }
  await shot(page, "en", "code-limit");
  // The right code no longer opens a session either.
  const late = await page.request.post(station.base + "/signin/code", {
    form: { challenge, code: right, csrf, login: phone }, maxRedirects: 0,
  });
  assert.equal(late.status(), 429);
  assert.equal(late.headers()["set-cookie"], undefined, "no session for a dead challenge");
  await page.goto(station.base + "/wallet");
  assert.match(page.url(), /\/signin$/, "still signed out");
  await context.close();
}

async function negativeOtherCustomersOrder(station, page, foreignOrderUrl, foreignCode) {
  const response = await page.goto(foreignOrderUrl);
  assert.equal(response.status(), 404);
  assert.equal(await page.textContent("[data-testid=error-code]"), "not_found");
  assert.ok(!(await page.content()).includes(foreignCode), "no data of the other order");
  const qr = await page.request.get(foreignOrderUrl + "/qr.svg");
  assert.equal(qr.status(), 404);
  const cancelPage = await page.request.get(foreignOrderUrl + "/cancel");
  assert.equal(cancelPage.status(), 404);
  await page.goto(station.base + "/wallet");
  const csrf = await page.getAttribute("input[name=csrf]", "value");
  const cancel = await page.request.post(foreignOrderUrl + "/cancel", { form: { csrf },
                                                                       maxRedirects: 0 });
  assert.equal(cancel.status(), 404, "another customer's order cannot be cancelled");
  const unknown = await page.goto(station.base + "/esims/ord_doesnotexist");
  assert.equal(unknown.status(), 404);
}

async function main() {
  const station = new Station();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  const started = Date.now();
  try {
    await station.start();
    const plan = await station.api("POST", "/v1/admin/plans", {
      code: "CN-5GB-7D", name: { "zh-CN": "中国 5GB 7天", en: "China 5 GB, 7 days" },
      data_mb: 5120, validity_days: 7, price_minor: 1500, currency: "CNY" });
    assert.equal(plan.status, 201);
    const codes = new Set();
    const zh = await journey(browser, station, "zh-CN", "+8613900139001", codes);
    console.log("ok zh-CN journey");
    const en = await journey(browser, station, "en", "+8613900139002", codes);
    console.log("ok en journey");
    await negativeCsrf(station, en.page);
    console.log("ok CSRF refused");
    await negativeOtherCustomersOrder(station, zh.page, en.orderUrl, en.code);
    console.log("ok another customer's order is 404");
    await negativeWrongCodes(browser, station, "+8613900139002", codes);
    console.log("ok wrong codes past the limit");
    await cancelOrder(station, en.page, en.orderUrl);
    console.log("ok order cancelled");
    await signUpByEmail(browser, station, codes);
    console.log("ok sign-up by email");
    await consoleTest.consoleTests(browser, station, { shot, checkSecurityHeaders }, zh.page);
    await zh.context.close();
    await en.context.close();
    console.log(`all portal browser tests passed in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
                `screenshots in ${SHOTS}`);
  } finally {
    await browser.close();
    await station.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
