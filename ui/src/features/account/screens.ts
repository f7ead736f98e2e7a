/** The screens shown before the device is signed in, loaded as one chunk (see App.svelte). */
export { default as AuthScreen } from './AuthScreen.svelte';
export { default as PassphrasePrompt } from './PassphrasePrompt.svelte';
