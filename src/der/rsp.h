// der/rsp: typed DER encode/decode of SGP.22 RSP messages, on asn1c's generated codecs.
// This header gathers the message groups, one header each:
//   rsp_authentication.h  EUICCInfo1/2, InitiateAuthentication, ServerSigned1, CtxParams1,
//                         AuthenticateServerRequest/Response (mutual authentication)
//   rsp_download.h        SmdpSigned2, PrepareDownloadRequest/Response, StoreMetadataRequest,
//                         InitialiseSecureChannel, ConfigureISDP, ReplaceSessionKeys and the
//                         Bound Profile Package (download and installation)
//   rsp_notification.h    NotificationMetadata, ProfileInstallationResult, OtherSignedNotification,
//                         PendingNotification, CancelSessionRequest/Response
//   rsp_es10c.h           the card-local ES10b/ES10c commands: GetEUICCChallenge, GetEID,
//                         GetProfilesInfo, Enable/Disable/DeleteProfile, ListNotification,
//                         RetrieveNotificationsList, RemoveNotificationFromList
//
// asn1c (Debian package asn1c, 0.9.28) compiles the RSPDefinitions module of SGP.22 together
// with the PKIX modules it imports, as they are, into C codecs for every type (the build runs
// it; see CMakeLists.txt). This file is their C++ face: plain C++ structs in, DER out, and back.
// No asn1c type appears in this header.
//
// Every decode:
//   1. refuses input beyond the message's Limits (bytes, elements, depth) and anything that is not
//      strict DER (indefinite or non-minimal lengths, non-minimal tags, trailing bytes) with the
//      TLV layer (tlv.h), before asn1c sees it;
//   2. decodes with asn1c (BER decoder, bounded stack) and requires it to consume the whole input;
//   3. checks the ASN.1 constraints (SIZE(16) challenges, SIZE(3) versions, ...);
//   4. copies the fields out. Parts that are signed or certificates are copied as the exact bytes
//      received (their TLV), never re-encoded, so signatures are verified over what was sent.
// Unknown extensions (the module has EXTENSIBILITY IMPLIED) are skipped. Every failure is
// kMalformedRequest with a message naming the message type. Content rules below the TLV layer are
// asn1c's BER ones (it takes a BOOLEAN 01, a non-minimal INTEGER, a constructed OCTET STRING),
// except where a decoder reads the TLV itself: the BOOLEANs (FF only) and the BPP's segments.
// The Bound Profile Package is read with tlv.h alone (asn1c 0.9.28 mistags it; see
// rsp_download.cc).
//
// Every encode writes DER with the TLV builder and checks the same constraints
// (kValidationFailed when a field is out of range or a part is not what its type says). Parts
// given already encoded (a signed part as received, certificates, EUICCInfo2, CtxParams1, BPP
// segments) are written verbatim, never decoded and re-encoded (asn1c drops unknown extensions),
// and the whole is then checked by decoding it.
//
// Names: encode(const T&) and decode_<snake_name>(ByteView, Limits = k<Name>Limits); a struct's
// comment names its ASN.1 type and tag. BIT STRINGs of named bits are masks (named bit n is
// 1 << n), written without trailing zero bits as DER wants; signatures are the contents of 5F37.
#pragma once

#include "der/rsp_authentication.h"
#include "der/rsp_download.h"
#include "der/rsp_es10c.h"
#include "der/rsp_notification.h"
