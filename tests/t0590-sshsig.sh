#!/bin/sh
# SSH signatures (lib/sshsig) against the real ssh-keygen, through the
# sshsig-tool test helper: native signing is accepted by `ssh-keygen -Y
# verify`, ssh-keygen's signatures verify natively, forgeries are refused
# with the reason, encrypted keys and ssh-agent go through ssh-keygen.
. "$(dirname "$0")/lib.sh"

NS=docket-approval@docket

# Flip one base64 character inside the signature bytes (4th line of the
# armored body, which for ed25519 holds only signature bytes).
flip_sig() {
	awk 'NR == 5 { c = substr($0, 10, 1); r = (c == "A") ? "B" : "A";
		$0 = substr($0, 1, 9) r substr($0, 11) } { print }' "$1"
}

# Start ssh-agent holding the encrypted key, run "$@", stop the agent.
with_agent() {
	eval "$(ssh-agent -s)" >/dev/null || return 1
	SSH_ASKPASS="$TRASH/askpass" SSH_ASKPASS_REQUIRE=force DISPLAY=:0 \
		setsid -w ssh-add enc </dev/null 2>/dev/null
	_rc=$?
	[ $_rc = 0 ] && { "$@"; _rc=$?; }
	ssh-agent -k >/dev/null
	return $_rc
}

test_expect_success 'setup: keys, a message, an allowed_signers file' '
	make_key alice && make_key bob &&
	ssh-keygen -q -t ed25519 -N "sekrit pass" -C enc@test -f enc &&
	ssh-keygen -q -t ecdsa -b 256 -N "" -C ec@test -f ec &&
	ssh-keygen -q -t rsa -b 2048 -N "" -C rsa@test -f rsa &&
	printf "#!/bin/sh\necho \"sekrit pass\"\n" >askpass &&
	chmod +x askpass &&
	printf "ledger L1\nproposal p-7f3a\ndecision approve\n" >msg &&
	printf "ledger L1\nproposal p-7f3a\ndecision approvf\n" >msg.bad &&
	{
		echo "alice $(cat alice.pub)"
		echo "bob namespaces=\"docket-policy@docket\" $(cat bob.pub)"
		echo "enc,ec,rsa $(cat enc.pub)"
		echo "ec $(cat ec.pub)"
		echo "rsa $(cat rsa.pub)"
	} >allowed_signers
'

test_expect_success 'native signature is accepted by ssh-keygen -Y verify' '
	sshsig-tool sign -v -f alice -n $NS <msg >msg.sig 2>err &&
	grep -q "^signed-by: native" err &&
	ssh-keygen -Y verify -f allowed_signers -I alice -n $NS \
		-s msg.sig <msg >out &&
	grep -q "Good \"$NS\" signature for alice" out
'

test_expect_success 'native ed25519 signature is byte-identical to ssh-keygen' '
	ssh-keygen -Y sign -f alice -n $NS <msg >keygen.sig 2>/dev/null &&
	test_cmp keygen.sig msg.sig
'

test_expect_success 'native sha256 signature is accepted by ssh-keygen' '
	sshsig-tool sign -f alice -n $NS -H sha256 <msg >s256.sig &&
	sshsig-tool show s256.sig >out &&
	grep -q "^hash sha256" out &&
	ssh-keygen -Y verify -f allowed_signers -I alice -n $NS \
		-s s256.sig <msg
'

test_expect_success 'ssh-keygen signatures verify natively (ed25519, ecdsa, rsa)' '
	for k in bob ec rsa; do
		ssh-keygen -Y sign -f $k -n $NS <msg >$k.sig 2>/dev/null &&
		sshsig-tool verify -k $k.pub -n $NS -s $k.sig <msg >out &&
		grep -q "^good signature by $(cut -d" " -f1 $k.pub) SHA256:" out ||
		exit 1
	done
'

test_expect_success 'a flipped byte in the message is refused: bad signature' '
	for k in bob ec rsa; do
		test_expect_code 1 sshsig-tool verify -k $k.pub -n $NS \
			-s $k.sig <msg.bad 2>err &&
		grep -q "^sshsig-tool: verify: bad signature: " err || exit 1
	done
'

test_expect_success 'a flipped byte in the signature is refused by both' '
	flip_sig msg.sig >flipped.sig &&
	! cmp -s msg.sig flipped.sig &&
	test_expect_code 1 sshsig-tool verify -k alice.pub -n $NS \
		-s flipped.sig <msg 2>err &&
	grep -q "bad signature: ed25519 signature does not verify" err &&
	test_expect_code 255 ssh-keygen -Y verify -f allowed_signers -I alice \
		-n $NS -s flipped.sig <msg
'

test_expect_success 'a wrong namespace is refused and named' '
	test_expect_code 1 sshsig-tool verify -k alice.pub \
		-n docket-policy@docket -s msg.sig <msg 2>err &&
	grep -q "wrong namespace: signature is for .$NS., expected .docket-policy@docket." err
'

test_expect_success 'a different key is refused: key mismatch with both fingerprints' '
	test_expect_code 1 sshsig-tool verify -k bob.pub -n $NS \
		-s msg.sig <msg 2>err &&
	a=$(ssh-keygen -lf alice.pub | cut -d" " -f2) &&
	b=$(ssh-keygen -lf bob.pub | cut -d" " -f2) &&
	grep -q "key mismatch: signed by ssh-ed25519 $a, expected ssh-ed25519 $b" err
'

test_expect_success 'bad armor is invalid input (exit 2)' '
	sed 1d msg.sig >noarmor.sig &&
	test_expect_code 2 sshsig-tool verify -k alice.pub -n $NS \
		-s noarmor.sig <msg 2>err &&
	grep -q "bad armor: missing .-----BEGIN SSH SIGNATURE-----." err &&
	sed "s/^U1NIU0lH/U1NIU0lI/" msg.sig >preamble.sig &&
	test_expect_code 2 sshsig-tool verify -k alice.pub -n $NS \
		-s preamble.sig <msg 2>err &&
	grep -q "malformed signature: " err
'

test_expect_success 'a private key readable by others is not used, as ssh does' '
	cp alice open-key && chmod 644 open-key &&
	test_expect_code 2 sshsig-tool sign -f open-key -n $NS <msg 2>err &&
	grep -q "open-key: permissions 0644 are too open" err &&
	chmod 600 open-key &&
	sshsig-tool sign -f open-key -n $NS <msg >/dev/null
'

test_expect_success 'an encrypted key is refused natively, with the reason' '
	test_expect_code 1 sshsig-tool sign -m native -f enc -n $NS \
		<msg 2>err &&
	grep -q "enc: key is encrypted with a passphrase (cipher aes256-ctr)" err
'

test_expect_success 'encrypted key without agent or terminal: ssh-keygen fails clearly' '
	unset SSH_AUTH_SOCK SSH_ASKPASS &&
	test_expect_code 3 setsid -w sshsig-tool sign -t 20000 -f enc -n $NS \
		<msg >out 2>err &&
	grep -q "native signing refused (enc: key is encrypted.*); ssh-keygen: ssh-keygen failed (exit 255)" err &&
	test ! -s out
'

test_expect_success 'encrypted key falls back to ssh-keygen with ssh-agent' '
	sign_both() {
		sshsig-tool sign -v -f enc -n $NS <msg >enc.sig 2>err &&
		grep -q "^signed-by: ssh-keygen" err &&
		sshsig-tool sign -v -f enc.pub -n $NS <msg >encpub.sig 2>err &&
		grep -q "^signed-by: ssh-keygen" err
	} &&
	with_agent sign_both &&
	sshsig-tool verify -k enc.pub -n $NS -s enc.sig <msg &&
	sshsig-tool verify -k enc.pub -n $NS -s encpub.sig <msg &&
	ssh-keygen -Y verify -f allowed_signers -I enc -n $NS \
		-s encpub.sig <msg
'

test_expect_success 'a public key alone, with no agent, is refused clearly' '
	unset SSH_AUTH_SOCK &&
	cp alice.pub lonely.pub &&
	test_expect_code 3 sshsig-tool sign -f lonely.pub -n $NS <msg 2>err &&
	grep -q "this is a public key; native signing needs the private key); ssh-keygen: ssh-keygen failed (exit 255): No private key found" err
'

test_expect_success 'non-ed25519 keys are signed by ssh-keygen and verify natively' '
	for k in ec rsa; do
		sshsig-tool sign -v -f $k -n $NS <msg >$k.mine.sig 2>err &&
		grep -q "^signed-by: ssh-keygen" err &&
		sshsig-tool verify -k $k.pub -n $NS -s $k.mine.sig <msg ||
		exit 1
	done &&
	test_expect_code 1 sshsig-tool sign -m native -f ec -n $NS <msg 2>err &&
	grep -q "key type ecdsa-sha2-nistp256 is not supported for native signing" err
'

test_expect_success 'ssh-keygen that does not finish is killed at the deadline' '
	printf "#!/bin/sh\nexec sleep 20\n" >slow-keygen &&
	chmod +x slow-keygen &&
	test_expect_code 3 sshsig-tool sign -m keygen -p ./slow-keygen \
		-t 300 -f alice -n $NS <msg 2>err &&
	grep -q "slow-keygen did not finish within 300 ms (killed)" err
'

test_expect_success 'a missing ssh-keygen is named' '
	test_expect_code 3 sshsig-tool sign -m keygen -p ./no-such-keygen \
		-f alice -n $NS <msg 2>err &&
	grep -q "cannot run ./no-such-keygen: No such file or directory" err
'

test_expect_success 'fingerprints match ssh-keygen -lf' '
	for k in alice enc ec rsa; do
		ssh-keygen -lf $k.pub >expect &&
		sshsig-tool fingerprint $k.pub >actual &&
		test_cmp expect actual || exit 1
	done &&
	sshsig-tool fingerprint "$(cat bob.pub)" >actual &&
	ssh-keygen -lf bob.pub >expect &&
	test_cmp expect actual
'

test_expect_success 'allowed_signers: the principal with its key verifies' '
	sshsig-tool verify-signers -f allowed_signers -I alice -n $NS \
		-s msg.sig <msg >out &&
	grep -q "^good signature for alice with ssh-ed25519 SHA256:.* (line 1)" out &&
	sshsig-tool verify-signers -f allowed_signers -I ec -n $NS \
		-s ec.sig <msg
'

test_expect_success 'allowed_signers: another principal is refused' '
	test_expect_code 1 sshsig-tool verify-signers -f allowed_signers \
		-I rsa -n $NS -s msg.sig <msg 2>err &&
	grep -q "not allowed: principal .rsa. has no entry for key SHA256:" err &&
	test_expect_code 255 ssh-keygen -Y verify -f allowed_signers -I rsa -n $NS \
		-s msg.sig <msg
'

test_expect_success 'allowed_signers: namespaces= restricts, as in ssh-keygen' '
	test_expect_code 1 sshsig-tool verify-signers -f allowed_signers \
		-I bob -n $NS -s bob.sig <msg 2>err &&
	grep -q "allowed_signers:2 allows key SHA256:.* only for namespaces \"docket-policy@docket\"" err &&
	test_expect_code 255 ssh-keygen -Y verify -f allowed_signers -I bob -n $NS \
		-s bob.sig <msg &&
	ssh-keygen -Y sign -f bob -n docket-policy@docket <msg >bobp.sig 2>/dev/null &&
	sshsig-tool verify-signers -f allowed_signers -I bob \
		-n docket-policy@docket -s bobp.sig <msg &&
	ssh-keygen -Y verify -f allowed_signers -I bob -n docket-policy@docket \
		-s bobp.sig <msg
'

test_expect_success 'allowed_signers: find-principals agrees with ssh-keygen' '
	for s in msg.sig ec.sig encpub.sig; do
		ssh-keygen -Y find-principals -f allowed_signers -s $s \
			-n $NS >expect &&
		sshsig-tool find-principals -f allowed_signers -s $s \
			-n $NS >actual &&
		test_cmp expect actual || exit 1
	done
'

test_expect_success 'allowed_signers: valid-before in the past is refused' '
	echo "alice valid-before=\"20200101Z\" $(cat alice.pub)" >old_signers &&
	test_expect_code 1 sshsig-tool verify-signers -f old_signers \
		-I alice -n $NS -s msg.sig <msg 2>err &&
	grep -q "not allowed: old_signers:1: key SHA256:.* is expired" err &&
	test_expect_code 255 ssh-keygen -Y verify -f old_signers -I alice -n $NS \
		-s msg.sig <msg
'

test_expect_success 'allowed_signers: a bad line is named' '
	{ echo "# trust"; echo "alice frobnicate $(cat alice.pub)"; } >bad_signers &&
	test_expect_code 2 sshsig-tool signers bad_signers 2>err &&
	grep -q "bad_signers:2: unknown option .frobnicate." err
'

test_done
