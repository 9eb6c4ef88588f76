// relay.mjs - two RTCPeerConnections in headless Chromium talk through
// turnpiked with iceTransportPolicy 'relay': a data channel echo and an
// audio track (WebAudio oscillator, no capture device), then getStats()
// must show a selected pair between two relay candidates of the wanted
// relay protocol and audio packets received. One line per check, and the
// closing tally; exit 1 on any failure.
//
// usage: node relay.mjs CHROMIUM_PATH USER_DATA_DIR URL USER PASSWORD [URL...]
//   URL: turn:127.0.0.1:3478?transport=udp (one run per URL)
import { chromium } from 'playwright-core';

const [exe, dataDir, ...rest] = process.argv.slice(2);
const urls = rest.filter((a) => /^turns?:/.test(a));
const [user, password] = rest.filter((a) => !/^turns?:/.test(a));
let passed = 0, failed = 0;
const ok = (cond, what) => {
	if (cond) passed++; else failed++;
	console.log(`${cond ? 'ok' : 'FAIL'} - ${what}`);
};

// Runs in the page: returns what the checks need.
async function call(config) {
	const a = new RTCPeerConnection(config), b = new RTCPeerConnection(config);
	const seen = { aCands: [], bCands: [] };
	a.onicecandidate = (e) => { if (e.candidate) { seen.aCands.push(e.candidate.type); b.addIceCandidate(e.candidate); } };
	b.onicecandidate = (e) => { if (e.candidate) { seen.bCands.push(e.candidate.type); a.addIceCandidate(e.candidate); } };
	const ctx = new AudioContext();
	const osc = ctx.createOscillator();
	const dst = ctx.createMediaStreamDestination();
	osc.connect(dst);
	osc.start();
	a.addTrack(dst.stream.getAudioTracks()[0], dst.stream);
	const dc = a.createDataChannel('echo');
	b.ondatachannel = (e) => { e.channel.onmessage = (m) => e.channel.send('echo:' + m.data); };
	const echoed = new Promise((resolve) => {
		dc.onopen = () => dc.send('hello through the relay');
		dc.onmessage = (m) => resolve(m.data);
	});
	await a.setLocalDescription(await a.createOffer());
	await b.setRemoteDescription(a.localDescription);
	await b.setLocalDescription(await b.createAnswer());
	await a.setRemoteDescription(b.localDescription);
	const timeout = (ms, v) => new Promise((r) => setTimeout(() => r(v), ms));
	seen.echo = await Promise.race([echoed, timeout(15000, null)]);
	// Let audio flow for a moment.
	await timeout(2000);
	const stats = {};
	for (const [name, pc] of [['a', a], ['b', b]]) {
		const r = await pc.getStats();
		let pair = null;
		r.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = r.get(s.selectedCandidatePairId); });
		const local = pair && r.get(pair.localCandidateId), remote = pair && r.get(pair.remoteCandidateId);
		let audioIn = 0;
		r.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') audioIn += s.packetsReceived; });
		stats[name] = {
			state: pc.connectionState,
			local: local && local.candidateType, relayProtocol: local && local.relayProtocol,
			remote: remote && remote.candidateType, audioIn,
		};
	}
	a.close(); b.close(); ctx.close();
	return { seen, stats };
}

const browser = await chromium.launchPersistentContext(dataDir, {
	executablePath: exe,
	headless: true,
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync',
		'--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
		'--disable-features=WebRtcHideLocalIpsWithMdns', '--ignore-certificate-errors',
		'--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
});
try {
	const page = await browser.newPage();
	for (const url of urls) {
		const want = url.startsWith('turns:') ? 'tls' : (url.match(/transport=(\w+)/) || [0, 'udp'])[1];
		const config = { iceServers: [{ urls: url, username: user, credential: password }], iceTransportPolicy: 'relay' };
		let res;
		try {
			res = await page.evaluate(call, config);
		} catch (e) {
			ok(false, `${url}: the call ran (${e.message.split('\n')[0]})`);
			continue;
		}
		const { seen, stats } = res;
		ok(seen.aCands.length > 0 && seen.aCands.every((t) => t === 'relay'),
			`${url}: only relay candidates gathered (${seen.aCands.join(',') || 'none'})`);
		ok(seen.echo === 'echo:hello through the relay', `${url}: data channel echo (${seen.echo})`);
		for (const side of ['a', 'b']) {
			const s = stats[side];
			ok(s.state === 'connected' && s.local === 'relay' && s.remote === 'relay',
				`${url}: ${side}'s selected pair is relay-relay (${s.state}, ${s.local}/${s.remote})`);
			ok(s.relayProtocol === want, `${url}: ${side}'s relayProtocol is ${want} (${s.relayProtocol})`);
		}
		ok(stats.b.audioIn > 0, `${url}: audio received through the relay (${stats.b.audioIn} packets)`);
	}
} finally {
	await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
