/*
 * The worker a raw packet belongs to when the sensor runs several pipeline workers
 * (capture.workers): a symmetric hash of the packet's (outer) IP address pair, so
 * that both directions of a flow land on the same worker — and so do all the flows
 * between two hosts, every fragment of a datagram (with the fragment reassembly
 * state) and all of a tunnel's traffic (GRE, IP-in-IP, VXLAN, Geneve, Teredo: by
 * the outer addresses).
 *
 * Why the address pair and not the 5-tuple: the detections that count a host's
 * connections to one server (bot bursts, port scans, beaconing) then see that host
 * pair's flows in one worker's packet order; with the 5-tuple two workers that are
 * seconds of packet time apart feed the same counter out of order (the demo's bot
 * burst went unseen). Fragments need no special case either.
 *
 * Packets it cannot read (ARP, unknown link or network types, truncated headers)
 * hash to 0: a fixed worker. It reads only what it must, through bounds-checked
 * reads, and never past caplen.
 */
#ifndef OTASUKE_SENSOR_FLOWHASH_H
#define OTASUKE_SENSOR_FLOWHASH_H

#include <stddef.h>
#include <stdint.h>

/* The symmetric hash of one raw packet of link type linktype (DECODE_DLT_*);
 * 0 when the packet is not read (see above), never 0 otherwise. Borrows data
 * until return. */
uint32_t flowhash_packet(int linktype, const uint8_t *data, size_t caplen);

#endif
