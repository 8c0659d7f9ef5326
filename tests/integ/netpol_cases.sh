# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The NetworkPolicy e2e cases, sourced by test_netpol.sh.  Each c_NAME
# applies policies (netpol NS NAME <<-EOF spec EOF), states the expected
# matrix over the default "everything allowed" (expect FROM TO PORT
# allow|deny, later lines win) and calls check.  Pods: x/a x/b x/c y/a ... z/c
# labelled pod=a|b|c in namespaces labelled ns=x|y|z (quote "y": YAML 1.1
# reads a bare y as true); nodes:
#   node1: x/a x/c y/b z/a z/c      node2: x/b y/a y/c z/b
# Policies, label changes and extra pods are undone after each case.

NP_CASES_VXLAN="no_policy deny_ingress_x deny_egress_x deny_all_x allow_all_ingress
	egress_denies_what_ingress_allows pod_selector_peer namespace_selector_peer and_peer or_peers
	match_expressions_pods match_expressions_namespaces
	port_number named_port_ingress named_port_egress end_port udp_only sctp_ports
	ipblock_except ipblock_pod_ip ipblock_outside ingress_and_egress
	multiple_policies_union policy_update pod_label_change namespace_label_change
	new_pod_denied_from_first_packet pod_churn_peer established_survives_update node_to_pod"
NP_CASES_NATIVE="no_policy deny_ingress_x namespace_selector_peer and_peer ipblock_except
	ipblock_outside ingress_and_egress node_to_pod"

c_no_policy() {
	check --from '*/*,node*'
}

c_deny_ingress_x() {
	netpol x deny-ingress <<-EOF
	podSelector: {}
	policyTypes: [Ingress]
	EOF
	expect '*' 'x/*' '*' deny
	check
}

# Egress isolation denies everything leaving x, pods of x included.
c_deny_egress_x() {
	netpol x deny-egress <<-EOF
	podSelector: {}
	policyTypes: [Egress]
	EOF
	expect 'x/*' '*' '*' deny
	check
}

# Both directions isolated, no rule: x is cut off from everything.
c_deny_all_x() {
	netpol x deny-all <<-EOF
	podSelector: {}
	policyTypes: [Ingress, Egress]
	EOF
	expect 'x/*' '*' '*' deny
	expect '*' 'x/*' '*' deny
	check
}

# The client's egress policy denies what the server's ingress policy allows.
c_egress_denies_what_ingress_allows() {
	netpol x a-to-z-only <<-EOF
	podSelector: {matchLabels: {pod: a}}
	policyTypes: [Egress]
	egress: [{to: [{namespaceSelector: {matchLabels: {ns: z}}}]}]
	EOF
	netpol y b-from-x-a <<-EOF
	podSelector: {matchLabels: {pod: b}}
	ingress: [{from: [{namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}]}]
	EOF
	expect x/a '*' '*' deny
	expect x/a 'z/*' '*' allow
	expect '*' y/b '*' deny
	check
}

# Isolated first, then an allow-all ingress rule ({} peer) on top: the union.
c_allow_all_ingress() {
	netpol x deny-ingress <<-EOF
	podSelector: {}
	policyTypes: [Ingress]
	EOF
	expect '*' 'x/*' '*' deny
	check
	netpol x allow-all-ingress <<-EOF
	podSelector: {}
	ingress: [{}]
	EOF
	expect_reset
	check
}

c_pod_selector_peer() {
	netpol x a-from-b <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
	EOF
	expect '*' x/a '*' deny
	expect x/b x/a '*' allow
	check
}

c_namespace_selector_peer() {
	netpol x a-from-y <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]
	EOF
	expect '*' x/a '*' deny
	expect 'y/*' x/a '*' allow
	check
}

# One peer with both selectors: pods b of namespace y only.
c_and_peer() {
	netpol x a-from-y-b <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress:
	- from:
	  - namespaceSelector: {matchLabels: {ns: "y"}}
	    podSelector: {matchLabels: {pod: b}}
	EOF
	expect '*' x/a '*' deny
	expect y/b x/a '*' allow
	check
}

# Two peers: namespace y, or pods b of x (the policy's own namespace).
c_or_peers() {
	netpol x a-from-y-or-b <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress:
	- from:
	  - namespaceSelector: {matchLabels: {ns: "y"}}
	  - podSelector: {matchLabels: {pod: b}}
	EOF
	expect '*' x/a '*' deny
	expect 'y/*' x/a '*' allow
	expect x/b x/a '*' allow
	check
}

# Exists / DoesNotExist on pod labels, in the selected pods and in the peer:
# pods without "extra" in x are isolated and admit pods with it, anywhere.
c_match_expressions_pods() {
	kc -n x label pod b extra=1 >/dev/null
	on_reset kc -n x label pod b extra-
	kc -n y label pod c extra=2 >/dev/null
	on_reset kc -n y label pod c extra-
	netpol x plain-from-extra <<-EOF
	podSelector: {matchExpressions: [{key: extra, operator: DoesNotExist}]}
	ingress:
	- from:
	  - namespaceSelector: {}
	    podSelector: {matchExpressions: [{key: extra, operator: Exists}]}
	EOF
	expect '*' x/a '*' deny
	expect '*' x/c '*' deny
	expect x/b 'x/[ac]' '*' allow
	expect y/c 'x/[ac]' '*' allow
	check
	# In / NotIn on pod labels: x/b admits pods a and c of every namespace but x.
	netpol x b-from-ac <<-EOF
	podSelector: {matchExpressions: [{key: pod, operator: In, values: [b]}]}
	ingress:
	- from:
	  - namespaceSelector: {matchExpressions: [{key: ns, operator: NotIn, values: [x]}]}
	    podSelector: {matchExpressions: [{key: pod, operator: NotIn, values: [b]}]}
	EOF
	expect '*' x/b '*' deny
	expect '[yz]/[ac]' x/b '*' allow
	check
}

# In / NotIn / Exists on namespace labels, kubernetes.io/metadata.name too.
c_match_expressions_namespaces() {
	netpol x a-from-ns-expr <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress:
	- from:
	  - namespaceSelector:
	      matchExpressions:
	      - {key: ns, operator: In, values: ["y", z]}
	      - {key: kubernetes.io/metadata.name, operator: NotIn, values: [z]}
	  - namespaceSelector: {matchExpressions: [{key: ns, operator: Exists}]}
	    podSelector: {matchExpressions: [{key: pod, operator: NotIn, values: [a, b]}]}
	EOF
	expect '*' x/a '*' deny
	expect 'y/*' x/a '*' allow
	expect '*/c' x/a '*' allow
	check
}

# Ingress to x/a from everywhere, on 80/TCP only.
c_port_number() {
	netpol x a-80 <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{ports: [{port: 80, protocol: TCP}]}]
	EOF
	expect '*' x/a '*' deny
	expect '*' x/a 80/TCP allow
	check
}

# A named port (protocol defaults to TCP) resolved against the selected pod.
c_named_port_ingress() {
	netpol x a-serve-81-tcp <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{namespaceSelector: {}}], ports: [{port: serve-81-tcp}]}]
	EOF
	expect '*' x/a '*' deny
	expect '*' x/a 81/TCP allow
	check
}

# An egress named port resolves against each destination's container ports:
# with no "to" (any destination) for x/a, with a {} namespaceSelector for x/b.
c_named_port_egress() {
	netpol x a-to-serve-80-udp <<-EOF
	podSelector: {matchLabels: {pod: a}}
	policyTypes: [Egress]
	egress: [{ports: [{port: serve-80-udp, protocol: UDP}]}]
	EOF
	netpol x b-to-serve-81-tcp <<-EOF
	podSelector: {matchLabels: {pod: b}}
	policyTypes: [Egress]
	egress: [{to: [{namespaceSelector: {}}], ports: [{port: serve-81-tcp}]}]
	EOF
	expect 'x/[ab]' '*' '*' deny
	expect x/a '*' 80/UDP allow
	expect x/b '*' 81/TCP allow
	check
}

# endPort ranges: 80-81/TCP to x/a; 70-80/TCP (81 outside) to x/b; 81-90/UDP to x/c.
c_end_port() {
	netpol x a-range <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{ports: [{port: 80, endPort: 81, protocol: TCP}]}]
	EOF
	netpol x b-range <<-EOF
	podSelector: {matchLabels: {pod: b}}
	ingress: [{ports: [{port: 70, endPort: 80, protocol: TCP}]}]
	EOF
	netpol x c-range <<-EOF
	podSelector: {matchLabels: {pod: c}}
	ingress: [{ports: [{port: 81, endPort: 90, protocol: UDP}]}]
	EOF
	expect '*' 'x/*' '*' deny
	expect '*' x/a '*/TCP' allow
	expect '*' x/b 80/TCP allow
	expect '*' x/c 81/UDP allow
	check
}

# A protocol without a port: every UDP port.
c_udp_only() {
	netpol x a-udp <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{ports: [{protocol: UDP}]}]
	EOF
	expect '*' x/a '*' deny
	expect '*' x/a '*/UDP' allow
	check
}

# SCTP by number and by name; TCP and UDP to those pods denied.  The SCTP
# probes are skipped where the kernel has no SCTP sockets; the trace is
# still held to the expected SCTP verdicts.
c_sctp_ports() {
	netpol x sctp <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{ports: [{port: 80, protocol: SCTP}]}]
	EOF
	netpol x sctp-named <<-EOF
	podSelector: {matchLabels: {pod: b}}
	ingress: [{ports: [{port: serve-81-sctp, protocol: SCTP}]}]
	EOF
	expect '*' 'x/[ab]' '*' deny
	expect '*' x/a 80/SCTP allow
	expect '*' x/b 81/SCTP allow
	check --ports 80/TCP,81/TCP,80/UDP,81/UDP,80/SCTP,81/SCTP
}

# Egress from x/a to the cluster CIDR except y/b's /32; then y/b on 81/TCP
# by a second policy.
c_ipblock_except() {
	local yb
	yb=$(pod_ip y/b)
	netpol x a-cidr-except <<-EOF
	podSelector: {matchLabels: {pod: a}}
	policyTypes: [Egress]
	egress: [{to: [{ipBlock: {cidr: 10.244.0.0/16, except: [$yb/32]}}]}]
	EOF
	expect x/a y/b '*' deny
	check
	# An address in one rule's except and in another rule's CIDR is allowed.
	netpol x a-to-yb <<-EOF
	podSelector: {matchLabels: {pod: a}}
	policyTypes: [Egress]
	egress: [{to: [{ipBlock: {cidr: $yb/32}}], ports: [{port: 81, protocol: TCP}]}]
	EOF
	expect x/a y/b 81/TCP allow
	check
}

# Ingress to x/a from one pod's /32 only.
c_ipblock_pod_ip() {
	local zc
	zc=$(pod_ip z/c)
	netpol x a-from-zc-ip <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{ipBlock: {cidr: $zc/32}}]}]
	EOF
	expect '*' x/a '*' deny
	expect z/c x/a '*' allow
	check
}

# ipBlock's own use, an address outside the cluster: the underlay's
# "outside" host, reached through the node's masquerade.  x/a may go there
# and nowhere else; x/c anywhere but there (0.0.0.0/0 except its /32).
c_ipblock_outside() {
	local out=$PORIN_CLUSTER_UNDERLAY.254
	ip netns exec "$P-outside" "${PROBE[@]}" serve outside 80 </dev/null >/dev/null 2>&1 &
	on_reset kill $!
	check --ports 80/TCP,80/UDP --to '*/*,outside' --extra "outside=$out"
	netpol x a-only-outside <<-EOF
	podSelector: {matchLabels: {pod: a}}
	policyTypes: [Egress]
	egress: [{to: [{ipBlock: {cidr: $out/32}}]}]
	EOF
	netpol x c-not-outside <<-EOF
	podSelector: {matchLabels: {pod: c}}
	policyTypes: [Egress]
	egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [$out/32]}}]}]
	EOF
	expect x/a '*' '*' deny
	expect x/a outside '*' allow
	expect x/c outside '*' deny
	check --ports 80/TCP,80/UDP --to '*/*,outside' --extra "outside=$out"
}

# One policy, both directions: x/a takes only x/b and talks only to y.
# (x/a's answers to x/b are replies, not egress.)
c_ingress_and_egress() {
	netpol x a-both <<-EOF
	podSelector: {matchLabels: {pod: a}}
	policyTypes: [Ingress, Egress]
	ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
	egress: [{to: [{namespaceSelector: {matchLabels: {ns: "y"}}}]}]
	EOF
	expect '*' x/a '*' deny
	expect x/b x/a '*' allow
	expect x/a '*' '*' deny
	expect x/a 'y/*' '*' allow
	check
}

# Two policies select x/a: the union of what they allow.
c_multiple_policies_union() {
	netpol x a-from-b-80 <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 80}]}]
	EOF
	netpol x a-from-z-81 <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{namespaceSelector: {matchLabels: {ns: z}}}], ports: [{port: 81}]}]
	EOF
	expect '*' x/a '*' deny
	expect x/b x/a 80/TCP allow
	expect 'z/*' x/a 81/TCP allow
	check
}

# kubectl apply of a changed policy: the matrix follows.
c_policy_update() {
	netpol x a-ingress <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
	EOF
	expect '*' x/a '*' deny
	expect x/b x/a '*' allow
	check
	netpol x a-ingress <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}], ports: [{port: 81, protocol: TCP}]}]
	EOF
	expect_reset
	expect '*' x/a '*' deny
	expect x/c x/a 81/TCP allow
	check
}

# A pod's labels change: it starts and stops matching a peer selector and
# the policy's own podSelector.
c_pod_label_change() {
	netpol x a-from-b <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
	EOF
	expect '*' x/a '*' deny
	expect x/b x/a '*' allow
	check
	on_reset kc -n x label pod c pod=c --overwrite
	kc -n x label pod c pod=b --overwrite >/dev/null
	expect x/c x/a '*' allow
	check
	on_reset kc -n x label pod a pod=a --overwrite
	kc -n x label pod a pod=q --overwrite >/dev/null
	expect_reset
	check
	kc -n x label pod a pod=a --overwrite >/dev/null
	kc -n x label pod c pod=c --overwrite >/dev/null
	expect '*' x/a '*' deny
	expect x/b x/a '*' allow
	check
}

# A namespace's labels change: Exists and DoesNotExist follow.
c_namespace_label_change() {
	netpol x a-from-allowed-ns <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: allow, operator: Exists}]}}]}]
	EOF
	netpol x b-from-other-ns-a <<-EOF
	podSelector: {matchLabels: {pod: b}}
	ingress:
	- from:
	  - namespaceSelector: {matchExpressions: [{key: allow, operator: DoesNotExist}]}
	    podSelector: {matchLabels: {pod: a}}
	EOF
	expect '*' 'x/[ab]' '*' deny
	expect '*/a' x/b '*' allow
	check
	on_reset kc label ns z allow-
	kc label ns z allow=yes >/dev/null
	expect 'z/*' x/a '*' allow
	expect z/a x/b '*' deny
	check
	kc label ns z allow- >/dev/null
	expect_reset
	expect '*' 'x/[ab]' '*' deny
	expect '*/a' x/b '*' allow
	check
}

# A pod created under an existing default-deny is isolated from its first
# packet: probed right after `hack/cluster pod add` returns, no retry.
c_new_pod_denied_from_first_packet() {
	netpol x deny-ingress <<-EOF
	podSelector: {}
	policyTypes: [Ingress]
	EOF
	expect '*' 'x/*' '*' deny
	check
	on_reset pod_gone x/d
	pod_add x/d node2 pod=d
	check --once --to x/d
	check
	# and it does serve: without the policy everyone reaches it
	kc -n x delete networkpolicy deny-ingress >/dev/null
	expect_reset
	check
}

# Pods come and go: a new pod matching the peer selector gets in; after it
# is deleted, a new non-matching pod on the same node (on its address, if
# IPAM hands it out again: a stale identity would let it in)
# does not, from its first packet.
c_pod_churn_peer() {
	netpol x a-from-b <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
	EOF
	expect '*' x/a '*' deny
	expect x/b x/a '*' allow
	check
	on_reset pod_gone x/e
	pod_add x/e node1 pod=b
	expect x/e x/a '*' allow
	check
	local ip_e
	ip_e=$(pod_ip x/e)
	cluster pod del x/e
	on_reset pod_gone x/f
	pod_add x/f node1 pod=f
	echo "x/e had $ip_e, x/f has $(pod_ip x/f)"
	check --once --from x/f --to x/a
	check
}

# An established TCP connection survives an update of the policy that
# still allows it: x/b holds a connection to an echo server on x/a:8080.
c_established_survives_update() {
	local line
	ip netns exec "$P-p-x-a" socat TCP-LISTEN:8080,reuseaddr,fork PIPE </dev/null >/dev/null 2>&1 &
	on_reset kill $!
	netpol x a-from-b <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}], ports: [{port: 8080}, {port: 80}]}]
	EOF
	expect '*' x/a '*' deny
	expect x/b x/a 80/TCP allow
	check
	coproc SESS { "${PROBE[@]}" session "/run/netns/$P-p-x-b" "$(pod_ip x/a)" 8080 2>&1; }
	read -r -t 5 line <&"${SESS[0]}" || true
	[ "$line" = connected ] || fail "session x/b -> x/a:8080 did not connect: $line"
	echo before >&"${SESS[1]}"
	read -r -t 5 line <&"${SESS[0]}" || true
	[ "$line" = ok ] || fail "session: no echo before the update: $line"
	netpol x a-from-b <<-EOF
	podSelector: {matchLabels: {pod: a}}
	ingress:
	- from: [{podSelector: {matchLabels: {pod: b}}}, {podSelector: {matchLabels: {pod: c}}}]
	  ports: [{port: 8080}, {port: 80}, {port: 81}]
	EOF
	expect '*' x/a '*' deny
	expect 'x/[bc]' x/a '*/TCP' allow
	check
	echo after >&"${SESS[1]}"
	read -r -t 5 line <&"${SESS[0]}" || true
	[ "$line" = ok ] || fail "session: the established connection broke on the update: $line"
	eval "exec ${SESS[1]}>&-"
	wait "$SESS_PID" || true
}

# Under default-deny ingress everywhere, a pod's own node still reaches it
# (kubelet probes); the other node is just another address: denied.
c_node_to_pod() {
	local ns p n
	for ns in x y z; do
		netpol "$ns" deny-ingress <<-EOF
		podSelector: {}
		policyTypes: [Ingress]
		EOF
	done
	expect '*' '*' '*' deny
	for n in node1 node2; do
		for p in $(pods_on "$n"); do expect "$n" "$p" '*' allow; done
	done
	check --from '*/*,node*'
}
