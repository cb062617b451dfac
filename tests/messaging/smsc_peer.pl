#!/usr/bin/perl
# An independent SMSC for the SMPP client's tests, built on Debian's Net::SMPP (libnet-smpp-perl),
# so the client is checked against another implementation of SMPP 3.4, not against itself.
#
# Listens on 127.0.0.1 (--port, 0 for any free port), writes the port to --ready FILE once
# listening, and serves one ESME connection at a time: answers bind_transceiver, enquire_link
# and unbind; answers each submit_sm with a message id "m<N>", appends what it received to --log
# FILE as one JSON line (destination, data_coding, esm_class, the decoded text, and the
# concatenation reference/total/sequence when a UDH is present), then sends a delivery receipt
# (deliver_sm, esm_class 0x04, "id:m<N> ... stat:DELIVRD ...") back on the same link.
# Stops when killed, or after --seconds (a bound so a lost test never leaves it running).
use strict;
use warnings;
use Encode qw(decode encode);
use Getopt::Long;
use IO::Handle;
use JSON::PP;
use Net::SMPP;

my ($port, $ready, $log, $seconds) = (0, '', '', 120);
GetOptions('port=i' => \$port, 'ready=s' => \$ready, 'log=s' => \$log, 'seconds=i' => \$seconds)
    or die "usage: smsc_peer.pl --port N --ready FILE --log FILE [--seconds N]\n";
alarm $seconds;

my $server = Net::SMPP->new_listen('127.0.0.1', port => $port, smpp_version => 0x34)
    or die "listen: $!\n";
open(my $log_fh, '>>', $log) or die "open $log: $!\n";
$log_fh->autoflush(1);
{
  my $tmp = "$ready.tmp";
  open(my $ready_fh, '>', $tmp) or die "open $tmp: $!\n";
  print $ready_fh $server->sockport(), "\n";
  close $ready_fh;
  rename $tmp, $ready or die "rename: $!\n";
}

# GSM 03.38 default alphabet, enough of it for the tests' texts (one septet per octet).
my @gsm7 = split //, decode('UTF-8',
  "\@£\$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" .
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà");
my %gsm7_extension = (0x0A => "\f", 0x14 => '^', 0x28 => '{', 0x29 => '}', 0x2F => '\\',
                      0x3C => '[', 0x3D => '~', 0x3E => ']', 0x40 => '|', 0x65 => "\x{20ac}");
sub decode_gsm7 {
  my @septets = unpack('C*', shift);
  my $text = '';
  while (@septets) {
    my $s = shift @septets;
    if ($s == 0x1B) { $text .= $gsm7_extension{shift @septets} // '?'; }
    else { $text .= $gsm7[$s] // '?'; }
  }
  return $text;
}

my $json = JSON::PP->new->utf8->canonical;
my $next_id = 0;

while (my $conn = $server->accept()) {
  while (my $pdu = $conn->read_pdu()) {
    my $cmd = $pdu->{cmd};
    if ($cmd == 0x00000009) {    # bind_transceiver
      $conn->bind_transceiver_resp(seq => $pdu->{seq}, system_id => 'peer');
    } elsif ($cmd == 0x00000015) {    # enquire_link
      $conn->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == 0x00000006) {    # unbind
      $conn->unbind_resp(seq => $pdu->{seq});
      last;
    } elsif ($cmd == 0x00000004) {    # submit_sm
      my $id = 'm' . ++$next_id;
      $conn->submit_sm_resp(seq => $pdu->{seq}, message_id => $id);
      my $body = $pdu->{short_message};
      my %record = (message_id => $id, destination => $pdu->{destination_addr},
                    source => $pdu->{source_addr}, data_coding => $pdu->{data_coding},
                    esm_class => $pdu->{esm_class},
                    registered_delivery => $pdu->{registered_delivery});
      if ($pdu->{esm_class} & 0x40) {
        my $udh_length = unpack('C', $body);
        my (undef, $iei, undef, $ref, $total, $seq) = unpack('C6', $body);
        @record{qw(udh_iei reference total sequence)} = ($iei, $ref, $total, $seq);
        $body = substr($body, $udh_length + 1);
      }
      $record{text} = $pdu->{data_coding} == 8 ? decode('UTF-16BE', $body) : decode_gsm7($body);
      print $log_fh $json->encode(\%record), "\n";
      $conn->deliver_sm(
        source_addr => $pdu->{destination_addr}, destination_addr => $pdu->{source_addr},
        esm_class => 0x04, data_coding => 0, async => 1,
        short_message => "id:$id sub:001 dlvrd:001 submit date:2611250300 "
                         . "done date:2611250301 stat:DELIVRD err:000 text:");
    }
    # deliver_sm_resp and anything else: nothing to do.
  }
  $conn->close();
}
