// The member's flow of issue 5, driven through the real web interface: sign up, create a
// community, post, comment, reply, vote, edit, delete, sign out (and sign in again). It runs
// once with JavaScript on and once with it off; where the two differ (comments, replies and
// votes go through the script without a reload when it is on), each step checks the behaviour
// of its mode.
//
// Locators are by role and label, as a screen reader user finds things; element ids and CSS
// are used only to tell one comment from another in a thread, where nothing else can.

import { Flow, check } from './lib.mjs';

const PASSWORD = 'correct horse battery staple';

/** The visible score next to the first vote buttons in `scope`. */
async function scoreIn(scope) {
  const text = await scope.locator('.votes output').first().textContent();
  return Number(text.trim());
}

/** Waits until `fn` holds, or fails with `message` after `ms`. */
async function until(fn, message, ms = 10_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${message}${last ? ` (${last.message.split('\n')[0]})` : ''}`);
}

export async function memberFlow(report, session, { base, suffix }) {
  const js = session.js;
  const page = session.page;
  const flow = new Flow(report, `Member flow, JavaScript ${js ? 'on' : 'off'}`, session);
  const user = `ada_${suffix}`;
  const communityName = `seeds_${suffix}`;
  const communityTitle = `Seed savers ${suffix}`;
  const state = {};

  const nav = () => page.getByRole('navigation', { name: 'Site' });
  const main = () => page.getByRole('main');
  const go = async (p) => {
    const resp = await page.goto(base + p);
    return resp;
  };

  // With JavaScript on, a marker on `window` shows whether an action reloaded the page: the
  // enhanced forms must not.
  const mark = async () => {
    if (js) await page.evaluate(() => (window.__cairnNoReload = true));
  };
  const stillSamePage = async (what) => {
    if (!js) return;
    const same = await page.evaluate(() => window.__cairnNoReload === true);
    check(same, `${what} reloaded the page, but with JavaScript it should not`);
  };

  await flow.step('axe finds known faults (self-test)', [], async () => {
    await session.axeSelfTest(base);
  });

  await flow.step('front page, signed out', [], async () => {
    const resp = await go('/');
    check(resp.ok(), `GET / answered ${resp.status()}`);
    await nav().getByRole('link', { name: 'Sign up' }).waitFor();
    await page.getByRole('heading', { name: 'Find a community' }).waitFor();
    await session.checkPage('home-signed-out');
  });

  await flow.step('sign up', [], async () => {
    await go('/');
    await nav().getByRole('link', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Sign up', level: 1 }).waitFor();
    // A refused form first: the message must say what is wrong and keep what was typed.
    await main().getByLabel('Username').fill(user);
    await main().getByLabel('Password', { exact: true }).fill('short');
    await main().getByRole('button', { name: 'Create account' }).click();
    await page.getByText(/password/i).and(page.locator('.error')).first().waitFor();
    const kept = await main().getByLabel('Username').inputValue();
    check(kept === user, `the refused sign-up form lost the username (has "${kept}")`);
    const invalid = await main().getByLabel('Password', { exact: true }).getAttribute('aria-invalid');
    check(invalid === 'true', 'the refused password field is not marked aria-invalid');
    await session.checkPage('signup-refused');
    await main().getByLabel('Password', { exact: true }).fill(PASSWORD);
    await main().getByRole('button', { name: 'Create account' }).click();
    await nav().getByRole('link', { name: user }).waitFor();
    await nav().getByRole('button', { name: 'Sign out' }).waitFor();
  });

  await flow.step('create a community', ['sign up'], async () => {
    await go('/');
    await nav().getByRole('link', { name: 'New community' }).click();
    await page.getByRole('heading', { name: 'Start a community' }).waitFor();
    await session.checkPage('community-new');
    await main().getByLabel('Name', { exact: true }).fill(communityName);
    await main().getByLabel('Title', { exact: true }).fill(communityTitle);
    await main()
      .getByLabel('Description')
      .fill('We keep **heirloom** seeds alive and swap them every spring.');
    await main().getByLabel('Kind').selectOption({ label: 'Working group' });
    await main().getByRole('radio', { name: /^Open/ }).check();
    await main().getByRole('button', { name: 'Create community' }).click();
    await page.getByRole('heading', { name: communityTitle, level: 1 }).waitFor();
    check(page.url().endsWith(`/c/${communityName}`), `landed on ${page.url()}`);
    state.community = `/c/${communityName}`;
    const about = main().getByRole('region', { name: 'About' });
    await about.getByText('Working group').waitFor();
    await about.getByRole('link', { name: user }).waitFor();
    await about.locator('strong', { hasText: 'heirloom' }).waitFor();
    await main().getByText(`@${communityName}@`).first().waitFor();
    await main().getByRole('button', { name: 'Leave' }).waitFor();
    if (js) {
      // The copy button puts the handle on the clipboard and says so.
      const handle = (await main().locator('code', { hasText: `@${communityName}@` }).first().textContent()).trim();
      await main().getByRole('button', { name: 'Copy handle' }).click();
      await main().getByRole('button', { name: 'Copied' }).waitFor();
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      check(copied === handle, `the clipboard holds "${copied}", not the handle "${handle}"`);
    } else {
      // Without the script the button could do nothing, so it must not be shown.
      const shown = await page.locator('#copy-handle').isVisible();
      check(!shown, 'the copy button shows although it needs the script');
    }
    await session.checkPage('community');
  });

  await flow.step('post', ['create a community'], async () => {
    await go(state.community);
    await main().getByRole('link', { name: 'New post' }).click();
    await page.getByRole('heading', { name: 'New post', level: 1 }).waitFor();
    await session.checkPage('post-new');
    state.title = `Tomato seeds to swap (${suffix})`;
    await main().getByLabel('Title', { exact: true }).fill(state.title);
    await main().getByLabel('Text (optional)').fill('I have *San Marzano* and Brandywine.\n\n- ask below');
    await main().getByRole('button', { name: 'Post', exact: true }).click();
    await page.getByRole('heading', { name: state.title, level: 1 }).waitFor();
    const m = page.url().match(/\/post\/(\d+)$/);
    check(m, `after posting the browser is on ${page.url()}, not a post page`);
    state.post = `/post/${m[1]}`;
    await main().locator('em', { hasText: 'San Marzano' }).waitFor();
    // The new post is in the community's list, under each sort, and in the author's feed.
    await go(state.community);
    await main().getByRole('link', { name: state.title }).waitFor();
    const sorts = main().getByRole('navigation', { name: 'Sort posts' });
    for (const sort of ['New', 'Top', 'Hot']) {
      await sorts.getByRole('link', { name: sort }).click();
      await until(
        async () => (await sorts.getByRole('link', { name: sort }).getAttribute('aria-current')) === 'page',
        `the "${sort}" tab is not marked as the current one`,
      );
      await main().getByRole('link', { name: state.title }).waitFor();
    }
    await go('/');
    await main().getByRole('region', { name: 'Your feed' }).getByRole('link', { name: state.title }).waitFor();
    await session.checkPage('home-signed-in');
  });

  await flow.step('comment', ['post'], async () => {
    await go(state.post);
    await mark();
    const text = `Count me in for Brandywine (${suffix}).`;
    await main().getByLabel('Add a comment').fill(text);
    await main().getByRole('button', { name: 'Post comment' }).click();
    const thread = page.locator('#comments');
    const item = thread.locator(':scope > li', { hasText: text });
    await item.waitFor();
    await stillSamePage('posting a comment');
    const id = await item.getAttribute('id');
    check(/^comment-\d+$/.test(id || ''), `the new comment's item has id "${id}"`);
    state.comment = id.slice('comment-'.length);
    if (js) {
      const left = await main().getByLabel('Add a comment').inputValue();
      check(left === '', 'the comment box was not emptied after posting with the script');
    } else {
      check(page.url().includes(`#comment-${state.comment}`), `after commenting the browser is on ${page.url()}`);
    }
  });

  await flow.step('reply', ['comment'], async () => {
    await go(state.post);
    await mark();
    const parent = page.locator(`#comment-${state.comment}`);
    await parent.getByRole('link', { name: 'Reply' }).first().click();
    const text = `Brandywine needs a long season (${suffix}).`;
    if (js) {
      // The script opens the reply form in place, under the comment.
      const box = parent.getByLabel('Your reply');
      await box.waitFor();
      check(await box.evaluate((el) => el === document.activeElement), 'the opened reply box does not have the focus');
      await box.fill(text);
      // The form the script opened is part of the page too.
      await session.checkPage('post-reply-open');
      await parent.getByRole('button', { name: 'Post reply' }).click();
    } else {
      // Without the script the link leads to the comment's own page and its reply form.
      await page.getByRole('heading', { name: /^Comment by/, level: 1 }).waitFor();
      check(page.url().includes(`/comment/${state.comment}`), `the reply link led to ${page.url()}`);
      await main().getByLabel(`Your reply to ${user}`).fill(text);
      await main().getByRole('button', { name: 'Post reply' }).click();
      await page.waitForURL(/\/post\/\d+/);
    }
    const reply = page.locator(`#comment-${state.comment} li`, { hasText: text });
    await reply.waitFor();
    await stillSamePage('posting a reply');
    const id = await reply.getAttribute('id');
    check(/^comment-\d+$/.test(id || ''), `the reply's item has id "${id}"`);
    state.reply = id.slice('comment-'.length);
    // A comment's thread collapses from its summary line and opens again.
    await go(state.post);
    const summary = page.locator(`#comment-${state.comment} > details > summary`);
    await summary.click();
    await until(async () => !(await page.getByText(text).isVisible()), 'collapsing the comment left its reply visible');
    await summary.click();
    await page.getByText(text).waitFor();
    // The comment's permalink page shows the thread from it down, with the reply.
    await go(`/comment/${state.comment}`);
    await main().getByText(text).waitFor();
    await main().getByRole('link', { name: 'See it in the whole thread' }).waitFor();
    await session.checkPage('comment');
  });

  await flow.step('markup in a comment is escaped or sanitized', ['post'], async () => {
    await go(state.post);
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    const probe = `Probe ${suffix} <script>alert("s")</script> <img alt="probe" src="data:," onerror="alert('i')"> **bold**`;
    await main().getByLabel('Add a comment').fill(probe);
    await main().getByRole('button', { name: 'Post comment' }).click();
    const item = page.locator('#comments > li', { hasText: `Probe ${suffix}` });
    await item.waitFor();
    await go(state.post);
    const again = page.locator('#comments > li', { hasText: `Probe ${suffix}` });
    await again.locator('strong', { hasText: 'bold' }).waitFor();
    check((await again.locator('script').count()) === 0, 'a <script> from a comment reached the page');
    check((await again.locator('img[onerror]').count()) === 0, 'an onerror handler from a comment reached the page');
    check(dialogs.length === 0, `a comment ran script: ${dialogs.join(', ')}`);
  });

  // Changing a hidden field needs a script in the page, so this runs with JavaScript on only;
  // it also shows that the script falls back to a plain submission when its request fails.
  if (js) {
    await flow.step('a form with a stale security token gets a friendly 403', ['post'], async () => {
      await go(state.post);
      const form = main().locator('form', { has: page.getByLabel('Add a comment') });
      await form.locator('input[name="csrf"]').evaluate((el) => (el.value = 'stale'));
      await main().getByLabel('Add a comment').fill('This should not be posted.');
      await main().getByRole('button', { name: 'Post comment' }).click();
      await page.getByRole('heading', { name: 'This form has expired', level: 1 }).waitFor();
      await session.checkPage('form-expired');
      await go(state.post);
      check((await main().getByText('This should not be posted.').count()) === 0, 'the comment with a stale token was posted');
    });
  }

  await flow.step('vote', ['comment'], async () => {
    await go(state.post);
    await mark();
    const article = main().getByRole('article');
    // The pair of vote buttons is a group named by the post's title, so a screen reader says
    // what the buttons vote on.
    await article.getByRole('group', { name: state.title }).waitFor();
    const up = article.getByRole('button', { name: 'Upvote' });
    const down = article.getByRole('button', { name: 'Downvote' });
    const before = await scoreIn(article);
    await up.click();
    await until(async () => (await up.getAttribute('aria-pressed')) === 'true', 'the upvote was not shown as pressed');
    check((await scoreIn(article)) === before + 1, `the post's score did not go from ${before} to ${before + 1}`);
    await down.click();
    await until(async () => (await down.getAttribute('aria-pressed')) === 'true', 'the downvote was not shown as pressed');
    check((await up.getAttribute('aria-pressed')) === 'false', 'the upvote stayed pressed after a downvote');
    check((await scoreIn(article)) === before - 1, `the post's score is not ${before - 1} after a downvote`);
    // Pressing the pressed button again withdraws the vote.
    await down.click();
    await until(async () => (await down.getAttribute('aria-pressed')) === 'false', 'the downvote could not be withdrawn');
    check((await scoreIn(article)) === before, `the post's score is not back at ${before}`);
    // And the comment.
    const comment = page.locator(`#comment-${state.comment}`);
    const cup = comment.getByRole('button', { name: 'Upvote' }).first();
    const cbefore = await scoreIn(comment);
    await cup.click();
    await until(async () => (await cup.getAttribute('aria-pressed')) === 'true', "the comment's upvote was not shown as pressed");
    check((await scoreIn(comment)) === cbefore + 1, `the comment's score did not go from ${cbefore} to ${cbefore + 1}`);
    await stillSamePage('voting');
    // The votes are stored, not only shown: a fresh load of the page agrees.
    await go(state.post);
    check((await scoreIn(main().getByRole('article'))) === before, 'after a reload the post score differs');
    const reloaded = page.locator(`#comment-${state.comment}`).getByRole('button', { name: 'Upvote' }).first();
    check((await reloaded.getAttribute('aria-pressed')) === 'true', "after a reload the comment's upvote is not pressed");
    await session.checkPage('post');
  });

  await flow.step('edit', ['post'], async () => {
    await go(state.post);
    await main().getByRole('link', { name: 'Edit', exact: true }).click();
    await page.getByRole('heading', { name: 'Edit post', level: 1 }).waitFor();
    const title = main().getByLabel('Title', { exact: true });
    check((await title.inputValue()) === state.title, 'the edit form does not hold the current title');
    await session.checkPage('post-edit');
    // An empty title is refused, and the form keeps the text.
    await title.fill('');
    await main().getByRole('button', { name: 'Save' }).click();
    await main().locator('.error').first().waitFor();
    const body = await main().getByLabel('Text (optional)').inputValue();
    check(body.includes('San Marzano'), 'the refused edit form lost the text');
    state.title = `Tomato and bean seeds to swap (${suffix})`;
    await main().getByLabel('Title', { exact: true }).fill(state.title);
    await main().getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: state.title, level: 1 }).waitFor();
    await main().getByText('edited').first().waitFor();
  });

  await flow.step('profile', ['post'], async () => {
    await go('/');
    await nav().getByRole('link', { name: user }).click();
    await page.getByRole('heading', { name: user, level: 1 }).waitFor();
    await main().getByRole('region', { name: 'Communities' }).getByRole('link', { name: communityTitle }).waitFor();
    await main().getByRole('region', { name: 'Recent posts' }).getByRole('link', { name: state.title }).waitFor();
    await main().getByText(`@${user}@`).first().waitFor();
    await session.checkPage('profile');
  });

  await flow.step('delete a comment', ['reply'], async () => {
    await go(state.post);
    const reply = page.locator(`#comment-${state.reply}`);
    await reply.getByRole('link', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Delete this comment?' }).waitFor();
    await session.checkPage('delete-confirm');
    await main().getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/post\/\d+/);
    await page.locator(`#comment-${state.reply}`).getByText('[deleted]').waitFor();
  });

  await flow.step('delete the post', ['post'], async () => {
    await go(state.post);
    await main().getByRole('article').getByRole('link', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Delete this post?' }).waitFor();
    // "Keep it" goes back without deleting.
    await main().getByRole('link', { name: 'Keep it' }).click();
    await page.getByRole('heading', { name: state.title, level: 1 }).waitFor();
    await main().getByRole('article').getByRole('link', { name: 'Delete' }).click();
    await main().getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: communityTitle, level: 1 }).waitFor();
    const left = await main().getByRole('link', { name: state.title }).count();
    check(left === 0, 'the deleted post is still listed in its community');
    const resp = await go(state.post);
    check(resp.status() === 410 || resp.status() === 404, `the deleted post answers ${resp.status()}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await session.checkPage('post-deleted');
  });

  await flow.step('sign out', ['sign up'], async () => {
    await go('/');
    await nav().getByRole('button', { name: 'Sign out' }).click();
    await nav().getByRole('link', { name: 'Sign in' }).waitFor();
    check((await nav().getByRole('link', { name: user }).count()) === 0, 'the user is still named in the menu');
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
    await session.checkPage('login');
    // Signed out, the community page invites to sign in instead of offering to post.
    if (state.community) {
      await go(state.community);
      await main().getByRole('link', { name: 'Sign in' }).first().waitFor();
      check((await main().getByRole('link', { name: 'New post' }).count()) === 0, 'signed out, "New post" is still offered');
      await session.checkPage('community-signed-out');
    }
    // Forms that need a session send a signed-out browser to sign in.
    await go('/communities/new');
    await page.getByRole('heading', { name: 'Sign in', level: 1 }).waitFor();
  });

  await flow.step('sign in', ['sign out'], async () => {
    await go('/login');
    await main().getByLabel('Username').fill(user);
    await main().getByLabel('Password', { exact: true }).fill('not the password');
    await main().getByRole('button', { name: 'Sign in' }).click();
    await main().locator('.error').first().waitFor();
    check((await main().getByLabel('Username').inputValue()) === user, 'the refused sign-in form lost the username');
    await main().getByLabel('Password', { exact: true }).fill(PASSWORD);
    await main().getByRole('button', { name: 'Sign in' }).click();
    await nav().getByRole('link', { name: user }).waitFor();
  });

  await flow.step('another member finds, joins and leaves the community', ['create a community', 'sign in'], async () => {
    const other = `bo_${suffix}`;
    await nav().getByRole('button', { name: 'Sign out' }).click();
    await nav().getByRole('link', { name: 'Sign up' }).click();
    await main().getByLabel('Username').fill(other);
    await main().getByLabel('Password', { exact: true }).fill(PASSWORD);
    await main().getByRole('button', { name: 'Create account' }).click();
    await nav().getByRole('link', { name: other }).waitFor();
    // The find box takes the community's handle and leads to it as a member.
    const host = new URL(base).host;
    await main().getByLabel('Handle or address').fill(`${communityName}@${host}`);
    await main().getByRole('button', { name: 'Follow' }).click();
    await page.getByRole('heading', { name: communityTitle, level: 1 }).waitFor();
    await main().getByText('You are a member').waitFor();
    await main().getByRole('button', { name: 'Leave' }).click();
    await main().getByRole('button', { name: 'Join' }).waitFor();
    const count = async () => Number((await main().getByRole('definition').nth(2).textContent()).trim());
    const before = await count();
    await main().getByRole('button', { name: 'Join' }).click();
    await main().getByText('You are a member').waitFor();
    check((await count()) === before + 1, `joining did not raise the member count from ${before}`);
    await go('/');
    await nav().getByRole('button', { name: 'Sign out' }).click();
    await nav().getByRole('link', { name: 'Sign in' }).waitFor();
    state.other = other;
  });

  await flow.step('a community that admits by approval takes requests to join', ['another member finds, joins and leaves the community'], async () => {
    const signIn = async (name) => {
      await go('/login');
      await main().getByLabel('Username').fill(name);
      await main().getByLabel('Password', { exact: true }).fill(PASSWORD);
      await main().getByRole('button', { name: 'Sign in' }).click();
      await nav().getByRole('link', { name }).waitFor();
    };
    const signOut = async () => {
      await nav().getByRole('button', { name: 'Sign out' }).click();
      await nav().getByRole('link', { name: 'Sign in' }).waitFor();
    };
    const title = `Seed library ${suffix}`;
    await signIn(user);
    await go('/communities/new');
    await main().getByLabel('Name', { exact: true }).fill(`library_${suffix}`);
    await main().getByLabel('Title', { exact: true }).fill(title);
    await main().getByRole('radio', { name: /^Approval/ }).check();
    await main().getByRole('button', { name: 'Create community' }).click();
    await page.getByRole('heading', { name: title, level: 1 }).waitFor();
    const path = new URL(page.url()).pathname;
    await signOut();
    await signIn(state.other);
    await go(path);
    await main().getByRole('button', { name: 'Request to join' }).click();
    await main().getByText('Your request to join is waiting for a moderator').waitFor();
    await session.checkPage('community-pending');
    await main().getByRole('button', { name: 'Withdraw request' }).click();
    await main().getByRole('button', { name: 'Request to join' }).waitFor();
    await signOut();
  });

  await flow.step('keyboard: skip link and visible focus', [], async () => {
    await go('/');
    await page.keyboard.press('Tab');
    const skip = page.getByRole('link', { name: 'Skip to content' });
    check(await skip.evaluate((el) => el === document.activeElement), 'the first Tab does not reach "Skip to content"');
    check(await skip.isVisible(), '"Skip to content" is not visible when focused');
    const box = await skip.boundingBox();
    check(box && box.x >= 0 && box.y >= 0, '"Skip to content" is focused but off screen');
    await page.keyboard.press('Enter');
    // Following a fragment link is asynchronous in Chromium; on a loaded machine the URL can
    // still be the old one right after the key press, so wait for it before judging.
    await page.waitForURL(/#main$/, { timeout: 5000 }).catch(() => {});
    check(page.url().endsWith('#main'), `the skip link led to ${page.url()}`);
    // The next Tab goes to the first control inside the main content, not back to the menu.
    await page.keyboard.press('Tab');
    const inMain = await page.evaluate(() => document.getElementById('main').contains(document.activeElement));
    check(inMain, 'after skipping, Tab does not land inside the main content');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    check(outline !== 'none', 'the focused control has no visible outline');
  });

  await flow.step('friendly not-found page', [], async () => {
    const resp = await go('/c/no_such_community');
    check(resp.status() === 404, `a missing community answers ${resp.status()}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await main().getByRole('link', { name: 'Back to the front page' }).waitFor();
    await session.checkPage('not-found');
  });
}
