// Runs on the audio rendering thread while a voice note is recorded (features/inbox/recording.ts):
// hands each block of microphone samples (the first channel) to the page. Plain JavaScript
// served as-is from the app's own origin, which the CSP's script-src 'self' allows for worklets.
class CaptureProcessor extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0]?.[0];
    if (channel !== undefined) this.port.postMessage(channel.slice(0));
    return true;
  }
}

registerProcessor('dataoptix-capture', CaptureProcessor);
