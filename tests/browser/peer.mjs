// peer.mjs - headless Chromium on the other side of a turnpike-peer call
// (issue 12): one RTCPeerConnection with iceTransportPolicy 'relay' through
// turnpiked, an audio track from a WebAudio oscillator (no capture device),
// the descriptions moved through turnpike-peer's --local-sdp/--remote-sdp
// files. Chromium offers (ROLE offer) or answers turnpike-peer's offer
// (ROLE answer). Then getStats() must show PCMU audio received from
// turnpike-peer and a selected pair whose local candidate is a relay of
// the wanted protocol. One line per check ("ok - " / "FAIL - "), "# "
// lines with the figures, the closing tally; exit 1 on any failure.
//
// usage: node peer.mjs CHROMIUM_PATH USER_DATA_DIR ROLE OUR_SDP PEER_SDP
//                      TURN_URL USER PASSWORD SECONDS
//   OUR_SDP: where Chromium's description goes (turnpike-peer's
//   --remote-sdp); PEER_SDP: turnpike-peer's --local-sdp, waited for.
import { chromium } from 'playwright-core';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const [exe, dataDir, role, ourSdp, peerSdp, url, user, password, seconds] = process.argv.slice(2);
const wantProto = url.startsWith('turns:') ? 'tls' : (url.match(/transport=(\w+)/) || [0, 'udp'])[1];
let passed = 0, failed = 0;
const ok = (cond, what) => {
	if (cond) passed++; else failed++;
	console.log(`${cond ? 'ok' : 'FAIL'} - ${role}: ${what}`);
	return cond;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// turnpike-peer's description, once its file exists (written by rename).
async function readPeer(ms) {
	for (const end = Date.now() + ms; Date.now() < end; await sleep(50))
		if (existsSync(peerSdp)) return readFileSync(peerSdp, 'utf8');
	throw new Error(`no ${peerSdp} within ${ms} ms`);
}

// Ours, written beside the target and renamed so the reader never sees half.
function writeOurs(sdp) {
	writeFileSync(ourSdp + '.tmp', sdp);
	renameSync(ourSdp + '.tmp', ourSdp);
}

// In the page: the connection and its audio source; window.call keeps them.
// When Chromium offers, a video transceiver and a data channel come too:
// turnpike-peer's answer must reject those sections and take the audio.
async function setup([config, extras]) {
	const pc = new RTCPeerConnection(config);
	if (extras) {
		pc.addTransceiver('video', { direction: 'recvonly' });
		pc.createDataChannel('unused');
	}
	const ctx = new AudioContext();
	const osc = ctx.createOscillator();
	const dst = ctx.createMediaStreamDestination();
	osc.frequency.value = 440;
	osc.connect(dst);
	osc.start();
	pc.addTrack(dst.stream.getAudioTracks()[0], dst.stream);
	const types = [];
	pc.onicecandidate = (e) => { if (e.candidate) types.push(e.candidate.type); };
	window.call = { pc, ctx, types };
}

// In the page: our description (the offer, or the answer to remote) once
// gathering is complete, every candidate in it.
async function describe(remote) {
	const { pc } = window.call;
	if (remote) {
		await pc.setRemoteDescription({ type: 'offer', sdp: remote });
		await pc.setLocalDescription(await pc.createAnswer());
	} else {
		await pc.setLocalDescription(await pc.createOffer());
	}
	await new Promise((resolve) => {
		if (pc.iceGatheringState === 'complete') return resolve();
		pc.addEventListener('icegatheringstatechange', () => {
			if (pc.iceGatheringState === 'complete') resolve();
		});
	});
	return pc.localDescription.sdp;
}

async function takeAnswer(sdp) {
	await window.call.pc.setRemoteDescription({ type: 'answer', sdp });
}

// In the page: the figures the checks need, from getStats().
async function figures() {
	const { pc, types } = window.call;
	const r = await pc.getStats();
	let pair = null, inb = null, outb = null;
	r.forEach((s) => {
		if (s.type === 'transport' && s.selectedCandidatePairId) pair = r.get(s.selectedCandidatePairId);
		if (s.type === 'inbound-rtp' && s.kind === 'audio') inb = s;
		if (s.type === 'outbound-rtp' && s.kind === 'audio') outb = s;
	});
	const local = pair && r.get(pair.localCandidateId), remote = pair && r.get(pair.remoteCandidateId);
	const codec = inb && inb.codecId && r.get(inb.codecId);
	return {
		sections: pc.getTransceivers().map((t) => `${t.mid}:${t.receiver.track.kind}:${t.currentDirection}`)
			.concat(pc.sctp ? ['sctp'] : []),
		state: pc.connectionState, gathered: types,
		local: local && local.candidateType, relayProtocol: local && local.relayProtocol,
		remote: remote && remote.candidateType,
		received: inb ? inb.packetsReceived : 0, lost: inb ? inb.packetsLost : null,
		jitter: inb ? inb.jitter : null, codec: codec ? codec.mimeType : null,
		sent: outb ? outb.packetsSent : 0,
	};
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
	const config = { iceServers: [{ urls: url, username: user, credential: password }], iceTransportPolicy: 'relay' };
	await page.evaluate(setup, [config, role === 'offer']);
	if (role === 'offer') {
		writeOurs(await page.evaluate(describe, null));
		await page.evaluate(takeAnswer, await readPeer(20000));
	} else {
		writeOurs(await page.evaluate(describe, await readPeer(20000)));
	}
	// Audio flows while turnpike-peer streams (its --duration); read the
	// figures two thirds into it, before it says goodbye.
	let f = await page.evaluate(figures);
	for (const end = Date.now() + 15000; Date.now() < end && f.received === 0; await sleep(200))
		f = await page.evaluate(figures);
	await sleep(Math.max(0, Number(seconds) * 1000 * 2 / 3 - 500));
	f = await page.evaluate(figures);
	console.log(`# chromium getStats (${role}): ${JSON.stringify(f)}`);
	ok(f.gathered.length > 0 && f.gathered.every((t) => t === 'relay'),
		`Chromium gathered relay candidates only (${f.gathered.join(',') || 'none'})`);
	ok(f.state === 'connected', `Chromium's connection is connected (${f.state})`);
	ok(f.local === 'relay', `the selected pair's local candidate is a relay (${f.local}/${f.remote})`);
	ok(f.relayProtocol === wantProto, `its relayProtocol is ${wantProto} (${f.relayProtocol})`);
	ok(f.received > 0, `audio from turnpike-peer arrived in Chromium (${f.received} packets)`);
	ok(f.codec === 'audio/PCMU', `the audio is PCMU (${f.codec})`);
	ok(f.sent > 0, `Chromium sent audio (${f.sent} packets)`);
	// The offer's sections: video (mid 0), audio (1), data (2). RFC 8829
	// §5.3.1: the rejected ones are stopped (and Chromium drops them).
	if (role === 'offer')
		ok(f.sections.join(' ') === '1:audio:sendrecv',
			`turnpike-peer's answer took the audio, rejected video and data (left: ${f.sections.join(' ')})`);
	await page.evaluate(() => { window.call.pc.close(); window.call.ctx.close(); });
} catch (e) {
	ok(false, `the call ran (${e.message.split('\n')[0]})`);
} finally {
	await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
