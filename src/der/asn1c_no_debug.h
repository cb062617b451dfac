/* Included in front of every asn1c file (CMakeLists.txt). With debugging off, asn1c 0.9.28 turns
 * ASN_DEBUG into an empty function, so its arguments are still evaluated: every tag the BER
 * decoder reads is printed into one static buffer (ber_tlv_tag_string), an snprintf per tag, by
 * all threads into the same buffer. As a macro it drops its arguments unevaluated; none of them
 * has a side effect. */
#define ASN_DEBUG(...) ((void)0)
