import { expect, test, type Page } from '@playwright/test';

const shot = (page: Page, name: string) =>
  page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
const unique = () => Math.random().toString(36).slice(2, 8);

async function signUp(page: Page, name: string, email = `${name.toLowerCase()}-${unique()}@example.com`) {
  await page.goto('/signup');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/orgs\/new$/);
  return email;
}

async function createOrg(page: Page, name: string) {
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page).toHaveURL(/\/orgs\/(?!new$)[a-z0-9-]+$/);
  return new URL(page.url()).pathname.split('/')[2]!;
}

test.describe.configure({ mode: 'serial' });

let orgSlug = '';
let clawPath = '';
let adaSession: Awaited<ReturnType<import('@playwright/test').BrowserContext['storageState']>>;

test('sign up, create an org, + New Claw, watch it become active, chat, audit, delete', async ({ page }) => {
  await signUp(page, 'Ada', 'ada@e2e.test');
  await shot(page, '01-signed-up');
  orgSlug = await createOrg(page, `Ada Labs ${unique()}`);
  await expect(page.getByText('No claws yet')).toBeVisible();
  await shot(page, '02-org-empty');

  await page.getByRole('button', { name: '+ New Claw' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'New Claw' });
  await dialog.getByLabel('Name').fill('My First Claw');
  await expect(dialog.getByText('/claws/my-first-claw')).toBeVisible();
  await shot(page, '03-new-claw-dialog');
  await dialog.getByRole('button', { name: 'Create claw' }).click();

  await expect(page).toHaveURL(new RegExp(`/orgs/${orgSlug}/claws/my-first-claw$`));
  clawPath = new URL(page.url()).pathname;
  await shot(page, '04-claw-provisioning');
  await expect(page.getByTestId('claw-status').first()).toHaveText('active', { timeout: 60_000 });
  for (const step of ['requested', 'miniAllocated', 'agentStarted', 'bucketCreated', 'active'])
    await expect(page.locator(`[data-step="${step}"]`)).toHaveAttribute('data-done', 'true');
  await expect(page.getByText('dev-mini.local')).toBeVisible();
  // No link leads to the claw's own hostname, which serves its gateway only to holders of the
  // gateway token and a paired device: every link on the page stays on this server, and the chat
  // below is the member's way in.
  const hrefs = await page
    .locator('a[href]')
    .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
  expect(hrefs.length).toBeGreaterThan(0);
  for (const href of hrefs) expect(new URL(href).origin, href).toBe(new URL(page.url()).origin);
  await expect(page.getByRole('link', { name: /Gateway/ })).toHaveCount(0);
  await shot(page, '05-claw-active');

  // Chat through the WebSocket proxy: a streamed reply.
  await expect(page.getByTestId('chat-state')).toHaveText('Connected', { timeout: 30_000 });
  await page.getByLabel('Message').fill('hello from the browser');
  await page.getByRole('button', { name: 'Send' }).click();
  const reply = page.locator('[data-role="assistant"]').last();
  await expect(reply).toContainText('hello from the browser');
  await expect(reply).toHaveAttribute('data-streaming', 'false');
  await shot(page, '06-chat-reply');

  // The claw's model: set on its page; the key is write-only (a fingerprint comes back), and the
  // running gateway restarts with it, which the timeline records.
  const modelCard = page.getByRole('region', { name: 'Model' });
  await expect(modelCard.getByTestId('model-none')).toBeVisible();
  await modelCard.getByLabel('Provider').selectOption('openai-compatible');
  await modelCard.getByLabel('Base URL').fill('http://127.0.0.1:4000/v1');
  await modelCard.getByLabel('Model', { exact: true }).fill('llama-3.1-8b');
  await modelCard.getByLabel('API key').fill('sk-e2e-secret-key-123');
  await modelCard.getByRole('button', { name: 'Save model' }).click();
  await expect(modelCard.getByTestId('model-saved')).toHaveText('Saved; the claw restarted with it.');
  await expect(modelCard.getByTestId('model-key-fingerprint')).toHaveText(/^fp_[0-9a-f]{16}$/);
  await expect(modelCard.getByLabel('API key')).toHaveValue('');
  await expect(page.locator('body')).not.toContainText('sk-e2e-secret-key-123');
  await expect(page.locator('[data-testid="timeline"] > li[data-type="ClawModelSet"]')).toHaveCount(1);
  await shot(page, '06b-claw-model');

  // A named secret: write-only too (name and fingerprint listed), applied with a restart.
  const secretsCard = page.getByRole('region', { name: 'Secrets' });
  await secretsCard.getByLabel('Name').fill('telegram_bot_token');
  await expect(secretsCard.getByLabel('Name')).toHaveValue('TELEGRAM_BOT_TOKEN');
  await secretsCard.getByLabel('Value').fill('e2e-secret-value-456');
  await secretsCard.getByRole('button', { name: 'Set secret' }).click();
  await expect(secretsCard.getByTestId('secrets-saved')).toHaveText('Saved; the claw restarted with it.');
  await expect(secretsCard.locator('tr[data-secret="TELEGRAM_BOT_TOKEN"]')).toContainText(/fp_[0-9a-f]{16}/);
  await expect(page.locator('body')).not.toContainText('e2e-secret-value-456');
  await expect(page.locator('[data-testid="timeline"] > li[data-type="ClawSecretSet"]')).toHaveCount(1);
  await expect(page.getByTestId('chat-state')).toHaveText('Connected', { timeout: 30_000 });
  await shot(page, '06b2-claw-secrets');

  // Stop keeps the claw (chat says so and offers Start); Start brings it back, chat reconnects.
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(page.getByTestId('claw-status').first()).toHaveText('stopped', { timeout: 30_000 });
  await expect(page.getByText('The claw is stopped; start it to chat.')).toBeVisible();
  await shot(page, '06c-claw-stopped');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.getByTestId('claw-status').first()).toHaveText('active', { timeout: 60_000 });
  await expect(page.getByTestId('chat-state')).toHaveText('Connected', { timeout: 30_000 });
  await page.getByLabel('Message').fill('back again');
  await page.getByRole('button', { name: 'Send' }).click();
  await expect(page.locator('[data-role="assistant"]').last()).toContainText('back again');
  for (const type of ['ClawStopRequested', 'ClawStopped', 'ClawStartRequested'])
    await expect(page.locator(`[data-testid="timeline"] > li[data-type="${type}"]`)).toHaveCount(1);

  // Backups: the stop took one; "Back up now" takes another; Restore rolls the claw back to it and
  // the chat, reconnected, still has what was said before it.
  const backups = page.getByRole('region', { name: 'Backups' }).getByTestId('backup');
  await expect(backups).toHaveCount(1);
  await page.getByRole('button', { name: 'Back up now' }).click();
  await expect(backups).toHaveCount(2);
  await expect(backups.first()).toContainText('On demand');
  await shot(page, '06d-claw-backups');
  page.once('dialog', (d) => void d.accept());
  await backups.first().getByRole('button', { name: 'Restore' }).click();
  await expect(page.locator('[data-testid="timeline"] > li[data-type="ClawRestored"]')).toHaveCount(1, {
    timeout: 30_000,
  });
  await expect(page.getByTestId('claw-status').first()).toHaveText('active', { timeout: 60_000 });
  await expect(page.getByTestId('chat-state')).toHaveText('Connected', { timeout: 30_000 });

  // What it uses (the agent samples every 10 s) and its output, redacted on the Mini, as an admin.
  await expect(page.getByTestId('usage-memory')).toContainText(/MB/, { timeout: 30_000 });
  await page.getByRole('region', { name: 'Logs' }).getByText('Logs').click();
  await expect(page.getByTestId('logs')).toContainText('dev gateway listening', { timeout: 15_000 });
  await shot(page, '06e-claw-usage-and-logs');

  // The audit timeline, newest last.
  const types = await page
    .locator('[data-testid="timeline"] > li')
    .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-type')));
  const lifecycle = types.filter((t) =>
    ['ClawRequested', 'MiniAllocated', 'AgentStarted', 'BucketCreated', 'ClawActive'].includes(t ?? ''),
  );
  expect(lifecycle).toEqual([
    'ClawRequested',
    'MiniAllocated',
    'AgentStarted',
    'BucketCreated',
    'ClawActive',
    // Started again after the stop: on the same Mini, with the same bucket.
    'AgentStarted',
    'ClawActive',
    // Ready again after the restore (the agent started the restored gateway itself).
    'ClawActive',
  ]);
  await shot(page, '07-timeline');

  // The fleet page shows the allocation (Ada is a platform admin: CLAWS_ADMIN_EMAILS).
  await page.goto('/fleet');
  const mini = page.locator('[data-mini="dev-mini.local"]');
  await expect(mini.getByTestId('allocation')).toContainText('1 of');
  await expect(mini).toContainText('my-first-claw');
  await shot(page, '08-fleet');
  adaSession = await page.context().storageState();
});

test("the claw page's first HTML already carries the claw, its timeline and who is signed in", async ({
  browser,
}) => {
  const context = await browser.newContext({ storageState: adaSession });
  // The document itself, as the server sends it with Ada's session cookie: rendered markup, not
  // only the data for hydration.
  const res = await context.request.get(clawPath);
  expect(res.status()).toBe(200);
  const html = await res.text();
  expect(html).toMatch(/<h1>My First Claw<\/h1>/);
  expect(html).toMatch(/data-testid="claw-status"[^>]*>active</);
  for (const type of ['ClawRequested', 'MiniAllocated', 'AgentStarted', 'BucketCreated', 'ClawActive'])
    expect(html).toContain(`data-type="${type}"`);
  // The header knows Ada from the start: no "Log in / Sign up" flash.
  expect(html).toMatch(/<button[^>]*>Log out<\/button>/);
  expect(html).not.toMatch(/>Sign up</);

  // And in the browser, the page needs no query of its own: with every tRPC request refused it
  // still shows the claw and its timeline (only the live subscriptions try and fail).
  const page = await context.newPage();
  const queries: string[] = [];
  await page.route('**/api/trpc/**', (route) => {
    if (!/claws\.onTimeline|claws\.onChange|claws\.onUsage|fleet\.onChange/.test(route.request().url()))
      queries.push(route.request().url());
    return route.abort();
  });
  await page.goto(clawPath);
  await expect(page.getByRole('heading', { name: 'My First Claw' })).toBeVisible();
  await expect(page.getByTestId('claw-status').first()).toHaveText('active');
  await expect(page.locator('[data-testid="timeline"] > li[data-type="ClawActive"]').first()).toBeVisible();
  await expect(page.getByRole('button', { name: 'Log out' })).toBeVisible();
  // Chat connects from an effect (its socket is not tRPC): the page has hydrated by then.
  await expect(page.getByTestId('chat-state')).toHaveText('Connected', { timeout: 30_000 });
  expect(queries).toEqual([]);
  await context.close();
});

test('another organization cannot open the claw page or its chat', async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUp(page, 'Eve');
  await createOrg(page, `Eve Corp ${unique()}`);
  await page.goto(clawPath);
  await expect(page.getByRole('heading', { name: 'Claw not found' })).toBeVisible();
  await shot(page, '09-other-org-refused');
  await page.goto(`/orgs/${orgSlug}`);
  await expect(page.getByRole('heading', { name: 'Organization not found' })).toBeVisible();
  await expect(page.getByTestId('claw-list')).toHaveCount(0);
  const close = await page.evaluate(
    (path) =>
      new Promise<{ code: number; reason: string }>((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/api/ws/claws/${path}`);
        ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
      }),
    clawPath.replace(/^\/orgs\//, '').replace('/claws/', '/'),
  );
  expect(close.code).toBe(4404);
  await context.close();
});

test('a team lead invites a colleague, changes the role and removes them; the colleague’s open chat closes', async ({
  browser,
}) => {
  const lead = await browser.newContext({ storageState: adaSession });
  const leadPage = await lead.newPage();
  await leadPage.goto(`/orgs/${orgSlug}`);
  const bobEmail = `bob-${unique()}@example.com`;
  await leadPage.getByLabel('Invite by email').fill(bobEmail);
  await leadPage.getByRole('button', { name: 'Send invitation' }).click();
  const link = (await leadPage.getByTestId('invite-link').textContent())!;
  expect(link).toMatch(/\/invite\/[A-Za-z0-9_-]{43}$/);
  await expect(leadPage.locator(`[data-invitation="${bobEmail}"]`)).toBeVisible();
  await shot(leadPage, '11-invited');

  // Bob opens the link, signs up with the invited address (filled in), and accepts.
  const colleague = await browser.newContext();
  const bob = await colleague.newPage();
  await bob.goto(new URL(link).pathname);
  await expect(bob.getByRole('heading', { name: /^Join / })).toBeVisible();
  await bob.getByTestId('invitation').getByRole('link', { name: 'Sign up' }).click();
  await expect(bob.getByLabel('Email')).toHaveValue(bobEmail);
  await bob.getByLabel('Name').fill('Bob');
  await bob.getByLabel('Password').fill('correct-horse-battery');
  await bob.getByRole('button', { name: 'Sign up' }).click();
  await expect(bob).toHaveURL(new RegExp(new URL(link).pathname));
  await bob.getByRole('button', { name: 'Accept' }).click();
  await expect(bob).toHaveURL(new RegExp(`/orgs/${orgSlug}$`));
  await bob.goto(clawPath);
  await expect(bob.getByTestId('chat-state')).toHaveText('Connected', { timeout: 30_000 });
  await shot(bob, '12-colleague-chats');

  // The lead makes Bob an admin, then removes him.
  await leadPage.reload();
  const row = leadPage.locator(`[data-member="${bobEmail}"]`);
  await row.getByLabel(/Role of Bob/).selectOption('admin');
  await expect(row.getByLabel(/Role of Bob/)).toHaveValue('admin');
  await leadPage.reload();
  await expect(leadPage.locator(`[data-member="${bobEmail}"]`).getByLabel(/Role of Bob/)).toHaveValue(
    'admin',
  );
  leadPage.once('dialog', (d) => void d.accept());
  await leadPage.locator(`[data-member="${bobEmail}"]`).getByRole('button', { name: 'Remove' }).click();
  await expect(leadPage.locator(`[data-member="${bobEmail}"]`)).toHaveCount(0);
  await shot(leadPage, '13-removed');

  // Bob's open chat closes at once, and says why.
  await expect(bob.getByTestId('chat-state')).toHaveText('Disconnected', { timeout: 15_000 });
  await expect(bob.getByTestId('chat-error')).toHaveText('You were removed from this organization.');
  await shot(bob, '14-colleague-chat-closed');
  await bob.goto(`/orgs/${orgSlug}`);
  await expect(bob.getByRole('heading', { name: 'Organization not found' })).toBeVisible();
  await colleague.close();
  await lead.close();
});

test('delete the claw: after confirmation it is gone', async ({ browser }) => {
  const context = await browser.newContext({ storageState: adaSession });
  const page = await context.newPage();
  await page.goto(clawPath);
  await expect(page.getByTestId('claw-status').first()).toHaveText('active');
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('heading', { name: 'Claw not found' })).toBeVisible({ timeout: 60_000 });
  await page.goto(`/orgs/${orgSlug}`);
  await expect(page.getByText('No claws yet')).toBeVisible();
  await shot(page, '10-deleted');
  await page.goto('/fleet');
  await expect(page.locator('[data-mini="dev-mini.local"]').getByTestId('allocation')).toContainText('0 of');
  await context.close();
});
