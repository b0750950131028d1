// The example page: one rpcx Client per transport (ws and WebTransport), the same calls on each.
/* global document, fetch, AbortController */
import { Client } from '/rpcx-browser.js';

const endpoints = await (await fetch('/endpoints.json')).json();

/** One section per network, from the page's template; its elements get ids like `mul-ws`, `out-wt`. */
function section(network, title) {
  const node = document.getElementById('network').content.firstElementChild.cloneNode(true);
  node.dataset.network = network;
  node.querySelector('.title').textContent = title;
  node.querySelector('.state').id = `state-${network}`;
  node.querySelector('output').id = `out-${network}`;
  for (const action of ['mul', 'push', 'slow', 'cancel']) node.querySelector(`.${action}`).id = `${action}-${network}`;
  document.getElementById('networks').append(node);
}

function show(network, line) {
  document.getElementById(`out-${network}`).textContent += `${line}\n`;
}

async function wire(network, title, endpoint) {
  section(network, title);
  const state = document.getElementById(`state-${network}`);
  let client;
  try {
    client = await Client.connect(endpoint, { connectTimeoutMs: 15000 });
  } catch (error) {
    state.textContent = `failed: ${error.message}`;
    return;
  }
  state.textContent = `connected to ${endpoint}`;
  client.onPush((push) => show(network, `push ${push.servicePath}.${push.serviceMethod} ${JSON.stringify(push.value)}`));

  document.getElementById(`mul-${network}`).onclick = async () => {
    const reply = await client.call('Arith', 'Mul', { A: 6, B: 7 });
    show(network, `6 × 7 = ${reply.C}`);
  };
  document.getElementById(`push-${network}`).onclick = async () => {
    const count = await client.call('Feed', 'Subscribe', { Count: 3 });
    show(network, `subscribed: ${count}`);
  };
  let controller;
  document.getElementById(`slow-${network}`).onclick = async () => {
    controller = new AbortController();
    show(network, 'sleeping…');
    try {
      show(network, `woke: ${await client.call('Feed', 'Sleep', { Ms: 10000 }, { signal: controller.signal })}`);
    } catch (error) {
      show(network, `cancelled: ${error.code}`);
    }
  };
  document.getElementById(`cancel-${network}`).onclick = () => controller?.abort();
}

await Promise.all([wire('ws', 'WebSocket', endpoints.ws), wire('wt', 'WebTransport', endpoints.wt)]);
document.body.dataset.ready = 'true';
